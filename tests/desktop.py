"""A real, private desktop for tests: Xvfb, a session D-Bus, dunst and a trayer tray host.

Import the fixtures from ``tests/conftest.py`` (which puts ``tests/`` on ``sys.path``)::

    from desktop import desktop, desktop_without_notifications, desktop_without_tray  # noqa: F401

Every process is started by the fixture, waited on with deadlines (never fixed sleeps) and
stopped at teardown. The display number comes from Xvfb itself (``-displayfd``), so parallel
runs never collide; X listens on a Unix socket only and the bus on a private socket directory.
Missing programs are not installed here: with ``CI=true`` the fixture fails saying exactly what
to ``apt-get install``; otherwise it skips with the same message.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pytest

T = TypeVar("T")

# program -> Debian package that provides it
PROGRAMS: dict[str, str] = {
    "Xvfb": "xvfb",
    "xdpyinfo": "x11-utils",
    "xwininfo": "x11-utils",
    "xdotool": "xdotool",
    "import": "imagemagick",
    "trayer": "trayer",
    "dbus-daemon": "dbus",
    "dbus-send": "dbus",
    "dunst": "dunst",
    "dunstctl": "dunst",
    "notify-send": "libnotify-bin",
}
PACKAGES_FILE = Path(__file__).with_name("desktop-packages.txt")
DOCS_DIR = Path(__file__).resolve().parents[1] / "docs"
START_TIMEOUT_S = 15.0
TRAY_HEIGHT = 40
TRAY_WIDTH = 200
SCREEN = (1024, 600)

_BUS_CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:dir={socket_dir}</listen>
  <auth>EXTERNAL</auth>
  <!-- no standard service directories: nothing is D-Bus-activated behind the test's back -->
  <servicedir>{service_dir}</servicedir>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"""

_DUNSTRC = """[global]
    monitor = 0
    follow = none
    width = 360
    height = 200
    origin = top-right
    offset = 10x50
    padding = 10
    horizontal_padding = 10
    text_icon_padding = 10
    frame_width = 2
    frame_color = "#8899aa"
    font = DejaVu Sans 11
    markup = full
    format = "<b>%s</b>\\n%b"
    icon_position = left
    min_icon_size = 48
    max_icon_size = 48
    corner_radius = 6
    sticky_history = yes
    history_length = 100
    show_indicators = no
    stack_duplicates = false
[urgency_low]
    background = "#233040"
    foreground = "#ffffff"
    timeout = 30
[urgency_normal]
    background = "#233040"
    foreground = "#ffffff"
    timeout = 30
[urgency_critical]
    background = "#602020"
    foreground = "#ffffff"
    timeout = 0
"""


def missing_packages(programs: dict[str, str] | None = None) -> list[str]:
    """Debian packages providing the programs that are not on PATH, in a stable order."""
    wanted = programs or PROGRAMS
    return sorted({pkg for prog, pkg in wanted.items() if shutil.which(prog) is None})


def require(packages: list[str], what: str = "desktop tests") -> None:
    """Fail (CI=true) or skip with the exact install command for ``packages``."""
    if not packages:
        return
    message = f"{what} need: apt-get install -y {' '.join(packages)}"
    if os.environ.get("CI") == "true":
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def require_gtk() -> None:
    """Fail or skip unless PyGObject with GTK 3 can be imported (pystray's gtk backend)."""
    probe = subprocess.run(
        [
            os.environ.get("PYTHON", _python()),
            "-c",
            "import gi; gi.require_version('Gtk', '3.0'); from gi.repository import Gtk",
        ],
        capture_output=True,
        timeout=30,
        check=False,
    )
    if probe.returncode == 0:
        return
    message = (
        "the GTK tray tests need PyGObject: apt-get install -y gir1.2-gtk-3.0"
        " python3-dev libgirepository1.0-dev libcairo2-dev pkg-config gcc"
        " && pip install 'PyGObject<3.51'"
    )
    if os.environ.get("CI") == "true":
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def _python() -> str:
    import sys

    return sys.executable


def wait_for(
    condition: Callable[[], T],
    timeout: float,
    what: str,
    interval: float = 0.05,
) -> T:
    """Poll ``condition`` until it returns something truthy; fail with ``what`` at the deadline."""
    deadline = time.monotonic() + timeout
    last_error: BaseException | None = None
    while True:
        try:
            value = condition()
        except Exception as exc:  # conditions may race with a process starting up
            value, last_error = None, exc  # type: ignore[assignment]
        if value:
            return value
        if time.monotonic() >= deadline:
            detail = f" (last error: {last_error!r})" if last_error else ""
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}{detail}")
        time.sleep(interval)


@dataclass(frozen=True)
class Geometry:
    """A window's place on the root window."""

    window: int
    x: int
    y: int
    width: int
    height: int
    name: str = ""
    wm_class: tuple[str, ...] = ()

    @property
    def center(self) -> tuple[int, int]:
        return self.x + self.width // 2, self.y + self.height // 2

    @property
    def box(self) -> tuple[int, int, int, int]:
        """(left, upper, right, lower), as Pillow's crop wants it."""
        return self.x, self.y, self.x + self.width, self.y + self.height


@dataclass
class Desktop:
    """A running private desktop and helpers to look at and poke it."""

    tmp: Path
    display: str = ""
    bus_address: str = ""
    with_notifications: bool = True
    with_tray: bool = True
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    _xconn: Any = None

    # -- environment

    @property
    def env(self) -> dict[str, str]:
        """Environment for programs that should live on this desktop."""
        env = {
            k: v
            for k, v in os.environ.items()
            if k not in ("WAYLAND_DISPLAY", "DBUS_SESSION_BUS_PID", "PYSTRAY_BACKEND")
        }
        env.update(
            DISPLAY=self.display,
            DBUS_SESSION_BUS_ADDRESS=self.bus_address,
            XDG_RUNTIME_DIR=str(self.tmp / "runtime"),
            XDG_CONFIG_HOME=str(self.tmp / "config"),
            XDG_CACHE_HOME=str(self.tmp / "cache"),
            XDG_DATA_HOME=str(self.tmp / "data"),
            XDG_STATE_HOME=str(self.tmp / "state"),
            NO_AT_BRIDGE="1",  # no accessibility bus launcher behind our back
            GDK_BACKEND="x11",
        )
        return env

    def activate(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Point this process (e.g. plyer's notify-send calls) at this desktop."""
        for key in ("WAYLAND_DISPLAY", "DBUS_SESSION_BUS_PID"):
            monkeypatch.delenv(key, raising=False)
        for key, value in self.env.items():
            if os.environ.get(key) != value:
                monkeypatch.setenv(key, value)

    def run(self, *args: str, timeout: float = 10.0, check: bool = True) -> str:
        """Run a program on this desktop and return its stdout."""
        done = subprocess.run(
            list(args),
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            stdin=subprocess.DEVNULL,
        )
        if check and done.returncode != 0:
            raise RuntimeError(f"{args[0]} failed ({done.returncode}): {done.stderr.strip()}")
        return done.stdout

    wait_for = staticmethod(wait_for)

    # -- X

    @property
    def x(self) -> Any:
        """A python-xlib connection to this display (opened once)."""
        if self._xconn is None:
            from Xlib import display as xdisplay

            self._xconn = xdisplay.Display(self.display)
        return self._xconn

    def tray_owner(self) -> int:
        """Window id owning ``_NET_SYSTEM_TRAY_S0`` (0 when no tray host is running)."""
        conn = self.x
        owner = conn.get_selection_owner(conn.intern_atom("_NET_SYSTEM_TRAY_S0"))
        return int(getattr(owner, "id", owner) or 0)

    def _windows(self) -> Iterator[tuple[Any, int]]:
        """Every window below the root, with its depth."""
        stack = [(self.x.screen().root, 0)]
        while stack:
            window, depth = stack.pop()
            try:
                children = window.query_tree().children
            except Exception:
                continue
            for child in reversed(children):
                yield child, depth + 1
                stack.append((child, depth + 1))

    def geometry(self, window: Any) -> Geometry:
        """Absolute geometry, name and class of a window."""
        root = self.x.screen().root
        geo = window.get_geometry()
        origin = root.translate_coords(window, 0, 0)
        try:
            name = window.get_wm_name() or ""
            wm_class = tuple(window.get_wm_class() or ())
        except Exception:
            name, wm_class = "", ()
        if isinstance(name, bytes):
            name = name.decode("latin-1")
        return Geometry(window.id, origin.x, origin.y, geo.width, geo.height, name, wm_class)

    def tray_panel(self) -> Geometry | None:
        """trayer's visible panel window."""
        from Xlib import X

        for window, _ in self._windows():
            try:
                if window.get_wm_class() != ("panel", "trayer"):
                    continue
                if window.get_attributes().map_state != X.IsViewable:
                    continue
            except Exception:
                continue
            return self.geometry(window)
        return None

    def docked_icons(self) -> list[Geometry]:
        """Mapped XEmbed clients inside trayer's panel: the docked tray icons."""
        from Xlib import X

        panel = self.tray_panel()
        if panel is None:
            return []
        conn = self.x
        xembed = conn.intern_atom("_XEMBED_INFO")
        panel_window = conn.create_resource_object("window", panel.window)
        found = []
        stack = [panel_window]
        while stack:
            window = stack.pop()
            try:
                children = window.query_tree().children
            except Exception:
                continue
            for child in children:
                stack.append(child)
                try:
                    if child.get_attributes().map_state != X.IsViewable:
                        continue
                    if child.get_full_property(xembed, X.AnyPropertyType) is None:
                        continue
                    geo = self.geometry(child)
                except Exception:
                    continue
                if geo.width > 1 and geo.height > 1:
                    found.append(geo)
        return found

    def popup_windows(self) -> list[Geometry]:
        """Mapped override-redirect top-level windows (menus, tooltips)."""
        from Xlib import X

        found = []
        for window in self.x.screen().root.query_tree().children:
            try:
                attrs = window.get_attributes()
                if attrs.map_state != X.IsViewable or not attrs.override_redirect:
                    continue
                geo = self.geometry(window)
            except Exception:
                continue
            if geo.width > 1 and geo.height > 1:
                found.append(geo)
        return found

    def grab(self, box: tuple[int, int, int, int] | None = None) -> Any:
        """The screen (or a box of it) as a Pillow RGB image, straight from the X server."""
        from PIL import Image
        from Xlib import X

        self.x.sync()
        if box is None:
            box = (0, 0, *SCREEN)
        left, upper, right, lower = box
        width, height = right - left, lower - upper
        raw = self.x.screen().root.get_image(left, upper, width, height, X.ZPixmap, 0xFFFFFFFF)
        return Image.frombytes("RGB", (width, height), raw.data, "raw", "BGRX")

    def screenshot(self, path: Path, box: tuple[int, int, int, int] | None = None) -> Path:
        """Save the screen (``import -window root``), optionally cropped to ``box``."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        args = ["import", "-display", self.display, "-window", "root"]
        if box is not None:
            left, upper, right, lower = box
            args += ["-crop", f"{right - left}x{lower - upper}+{left}+{upper}", "+repage"]
        self.run(*args, str(path), timeout=30)
        return path

    def save_doc_screenshot(self, name: str, box: tuple[int, int, int, int]) -> Path | None:
        """Write ``docs/<name>`` from the screen when QUOTA_TRAY_DOCS=1 or it does not exist."""
        target = DOCS_DIR / name
        if target.exists() and os.environ.get("QUOTA_TRAY_DOCS") != "1":
            return None
        return self.screenshot(target, box)

    def notification_bubbles(self) -> list[Geometry]:
        """dunst's mapped bubble windows."""
        from Xlib import X

        found = []
        for window in self.x.screen().root.query_tree().children:
            try:
                if (window.get_wm_class() or ("",))[0] != "Dunst":
                    continue
                if window.get_attributes().map_state != X.IsViewable:
                    continue
                geo = self.geometry(window)
            except Exception:
                continue
            if geo.height > 1:
                found.append(geo)
        return found

    def selection_text(self, selection: str = "CLIPBOARD", timeout: float = 5.0) -> str | None:
        """What a paste would insert: the owner of ``selection`` asked for UTF8_STRING, as
        any X client asks (None when nobody owns it)."""
        from Xlib import X

        conn = self.x
        atom = conn.intern_atom(selection)
        if int(getattr(conn.get_selection_owner(atom), "id", 0) or 0) == 0:
            return None
        screen = conn.screen()
        window = screen.root.create_window(0, 0, 1, 1, 0, screen.root_depth)
        target, prop = conn.intern_atom("UTF8_STRING"), conn.intern_atom("QUOTA_TRAY_PASTE")
        try:
            window.convert_selection(atom, target, prop, X.CurrentTime)
            conn.flush()
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                while conn.pending_events():
                    event = conn.next_event()
                    if event.type == X.SelectionNotify and event.requestor.id == window.id:
                        if event.property == X.NONE:
                            return None
                        data = window.get_full_property(prop, X.AnyPropertyType)
                        return bytes(data.value).decode() if data else None
                time.sleep(0.02)
            raise AssertionError(f"no answer from the {selection} owner in {timeout:g} s")
        finally:
            window.destroy()
            conn.flush()

    def click(self, x: int, y: int, button: int = 1) -> None:
        """Move the pointer to (x, y) and click ``button`` (1 left, 3 right)."""
        self.run("xdotool", "mousemove", str(x), str(y), "click", str(button))

    def key(self, *keys: str) -> None:
        """Press keys (xdotool names, e.g. ``Escape``)."""
        self.run("xdotool", "key", *keys)

    # -- notifications

    def notification_daemon_ready(self) -> bool:
        """Whether something owns org.freedesktop.Notifications on this bus."""
        out = self.run(
            "dbus-send",
            "--session",
            "--print-reply",
            "--dest=org.freedesktop.DBus",
            "/org/freedesktop/DBus",
            "org.freedesktop.DBus.NameHasOwner",
            "string:org.freedesktop.Notifications",
            check=False,
        )
        return "boolean true" in out

    def dunst_history(self, close_displayed: bool = True) -> list[tuple[str, str, str]]:
        """(summary, body, appname) of every notification dunst received, oldest first.

        dunst lists a notification in its history only once it is closed, so by default the
        ones still on screen are closed first (take screenshots before calling this).
        """
        if close_displayed:
            self.run("dunstctl", "close-all")
            self.wait_for(
                lambda: self.run("dunstctl", "count", "displayed").strip() == "0",
                5,
                "dunst to close its bubbles",
            )
        data = json.loads(self.run("dunstctl", "history"))
        entries = data.get("data", [[]])[0]
        result = [
            (
                entry["summary"]["data"],
                entry["body"]["data"],
                entry["appname"]["data"],
                entry["id"]["data"],
            )
            for entry in entries
        ]
        result.sort(key=lambda item: item[3])
        return [(summary, body, app) for summary, body, app, _ in result]

    # -- lifecycle

    def _spawn(self, name: str, args: list[str], **kwargs: Any) -> subprocess.Popen[bytes]:
        log = open(self.tmp / f"{name}.log", "wb")  # noqa: SIM115  (closed by the child's exit)
        kwargs.setdefault("stdout", log)
        proc = subprocess.Popen(
            args,
            stdin=subprocess.DEVNULL,
            stderr=log,
            start_new_session=True,
            **kwargs,
        )
        log.close()
        self.processes[name] = proc
        return proc

    def log_of(self, name: str) -> str:
        path = self.tmp / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def _check_alive(self, name: str) -> bool:
        proc = self.processes[name]
        if proc.poll() is not None:
            raise RuntimeError(f"{name} exited ({proc.returncode}): {self.log_of(name)[-800:]}")
        return True

    def start(self) -> None:
        for sub in ("runtime", "config", "cache", "data", "state", "bus", "services"):
            (self.tmp / sub).mkdir(mode=0o700, parents=True, exist_ok=True)
        self._start_x()
        self._start_bus()
        if self.with_notifications:
            self._start_dunst()
        if self.with_tray:
            self.start_tray()

    def _start_x(self) -> None:
        read_fd, write_fd = os.pipe()
        try:
            self._spawn(
                "Xvfb",
                [
                    "Xvfb",
                    "-displayfd",
                    str(write_fd),
                    "-nolisten",
                    "tcp",
                    "-noreset",  # no server reset when the last client leaves (it drops joiners)
                    "-screen",
                    "0",
                    f"{SCREEN[0]}x{SCREEN[1]}x24",
                ],
                pass_fds=(write_fd,),
            )
        finally:
            os.close(write_fd)
        try:
            number = _read_line(read_fd, START_TIMEOUT_S, "Xvfb to choose a display number")
        finally:
            os.close(read_fd)
        self.display = f":{number}"
        wait_for(
            lambda: (
                self._check_alive("Xvfb")
                and subprocess.run(
                    ["xdpyinfo", "-display", self.display],
                    capture_output=True,
                    timeout=5,
                    check=False,
                ).returncode
                == 0
            ),
            START_TIMEOUT_S,
            f"Xvfb on {self.display} to answer xdpyinfo",
        )

    def _start_bus(self) -> None:
        config = self.tmp / "session-bus.conf"
        config.write_text(
            _BUS_CONFIG.format(socket_dir=self.tmp / "bus", service_dir=self.tmp / "services")
        )
        read_fd, write_fd = os.pipe()
        try:
            self._spawn(
                "dbus-daemon",
                [
                    "dbus-daemon",
                    f"--config-file={config}",
                    "--nofork",
                    "--nopidfile",
                    f"--print-address={write_fd}",
                ],
                pass_fds=(write_fd,),
            )
        finally:
            os.close(write_fd)
        try:
            self.bus_address = _read_line(read_fd, START_TIMEOUT_S, "dbus-daemon's address")
        finally:
            os.close(read_fd)

    def _start_dunst(self) -> None:
        rc = self.tmp / "config" / "dunst" / "dunstrc"
        rc.parent.mkdir(parents=True, exist_ok=True)
        rc.write_text(_DUNSTRC)
        self._spawn("dunst", ["dunst", "-config", str(rc)], env=self.env)
        wait_for(
            lambda: self._check_alive("dunst") and self.notification_daemon_ready(),
            START_TIMEOUT_S,
            "dunst to own org.freedesktop.Notifications",
        )

    def start_tray(self) -> None:
        """Start trayer (the XEmbed tray host) and wait until it embeds icons."""
        self._spawn(
            "trayer",
            [
                "trayer",
                "--edge",
                "top",
                "--align",
                "right",
                "--widthtype",
                "pixel",
                "--width",
                str(TRAY_WIDTH),
                "--heighttype",
                "pixel",
                "--height",
                str(TRAY_HEIGHT),
                "--transparent",
                "false",
                "--expand",
                "false",
            ],
            env=self.env,
        )
        wait_for(
            lambda: self._check_alive("trayer") and self.tray_owner() and self.tray_panel(),
            START_TIMEOUT_S,
            "trayer to own the system tray selection and map its panel",
        )
        self._probe_dock()

    def _probe_dock(self) -> None:
        """Dock a throw-away XEmbed window and remove it again.

        trayer owns the tray selection a moment before it handles dock requests, and a
        request in that moment is lost; this waits until docking really works.
        """
        from Xlib import X
        from Xlib.protocol import event as xevent

        conn = self.x
        screen = conn.screen()
        probe = screen.root.create_window(
            -1, -1, 16, 16, 0, screen.root_depth, X.InputOutput, background_pixel=0
        )
        xembed = conn.intern_atom("_XEMBED_INFO")
        probe.change_property(xembed, xembed, 32, [0, 1])
        opcode = conn.intern_atom("_NET_SYSTEM_TRAY_OPCODE")
        last_request = [0.0]

        def embedded() -> bool:
            if probe.query_tree().parent.id != screen.root.id:
                return True
            if time.monotonic() - last_request[0] > 0.5:
                owner = conn.create_resource_object("window", self.tray_owner())
                owner.send_event(
                    xevent.ClientMessage(
                        window=owner,
                        client_type=opcode,
                        data=(32, (X.CurrentTime, 0, probe.id, 0, 0)),
                    ),
                    event_mask=X.NoEventMask,
                )
                conn.flush()
                last_request[0] = time.monotonic()
            return False

        try:
            wait_for(embedded, START_TIMEOUT_S, "trayer to embed a probe icon")
        finally:
            probe.destroy()
            conn.sync()

    def stop(self) -> None:
        """Stop every process this desktop started, newest first."""
        if self._xconn is not None:
            with contextlib.suppress(Exception):
                self._xconn.close()
            self._xconn = None
        for name in reversed(list(self.processes)):
            stop_process(self.processes[name])
        self.processes.clear()


def stop_process(proc: subprocess.Popen[Any], timeout: float = 5.0) -> None:
    """SIGTERM, wait, then SIGKILL the process (and its session) if it lingers."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except (ProcessLookupError, PermissionError):
            proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                proc.kill()
            proc.wait(timeout)
    for stream in (proc.stdin, proc.stdout, proc.stderr):
        if stream is not None:
            stream.close()


def _read_line(fd: int, timeout: float, what: str) -> str:
    """Read one line from a pipe, failing at the deadline instead of hanging."""
    deadline = time.monotonic() + timeout
    data = b""
    while b"\n" not in data:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        ready, _, _ = select.select([fd], [], [], left)
        if not ready:
            continue
        chunk = os.read(fd, 4096)
        if not chunk:
            raise AssertionError(f"the pipe closed while waiting for {what}")
        data += chunk
    return data.split(b"\n", 1)[0].decode().strip()


def _desktop(tmp: Path, *, with_notifications: bool, with_tray: bool = True) -> Iterator[Desktop]:
    require(missing_packages())
    try:
        import PIL  # noqa: F401
        import Xlib  # noqa: F401
    except ImportError as exc:  # both come with the project's dependencies (pillow, pystray)
        pytest.fail(f"desktop tests need pillow and python-xlib: {exc}", pytrace=False)
    desk = Desktop(tmp, with_notifications=with_notifications, with_tray=with_tray)
    try:
        desk.start()
        yield desk
    finally:
        desk.stop()


@pytest.fixture
def desktop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Desktop]:
    """Xvfb + session D-Bus + dunst + trayer, stopped after the test."""
    yield from _desktop(tmp_path_factory.mktemp("desktop"), with_notifications=True)


@pytest.fixture
def desktop_without_tray(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Desktop]:
    """X display, session bus and dunst, but no tray host (``start_tray()`` starts one)."""
    yield from _desktop(
        tmp_path_factory.mktemp("desktop"), with_notifications=True, with_tray=False
    )


@pytest.fixture
def desktop_without_notifications(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Desktop]:
    """The same desktop with no notification daemon on its bus."""
    yield from _desktop(tmp_path_factory.mktemp("desktop"), with_notifications=False)
