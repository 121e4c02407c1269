"""The tray icon for real: pystray docked in trayer on Xvfb, for the xorg and GTK backends.

pystray picks its backend at import, so every icon runs in a process of its own
(tests/tray_child.py), driven over stdin/stdout; controller calls land in a file.
The texts the tray shows are also checked without a screen (DisplayModel).
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

# Fixtures come from tests/desktop.py (tests/conftest.py imports them as well).
from desktop import (  # noqa: F401
    PACKAGES_FILE,
    PROGRAMS,
    Desktop,
    Geometry,
    desktop,
    desktop_without_tray,
    require_gtk,
    stop_process,
    wait_for,
)

from trayapp.ui.display import DisplayModel, latin1_title
from trayapp.warming.events import Event, Progress, WarmEvent
from trayapp.warming.levels import Level

CHILD = Path(__file__).parents[1] / "tray_child.py"
TOTAL = 38
STATES = ("fire", "warn", "slowish", "slow", "complete", "error", "paused")


# --- what the tray says, without a screen -----------------------------------------------------


def progress(done: int) -> Progress:
    gpu = min(done, 20)
    return Progress(gpu, 20, done - gpu, 18)


def test_tooltip_texts() -> None:
    model = DisplayModel(TOTAL)
    assert model.display.key == "fire"
    shown = model.apply(
        Event(WarmEvent.BATCH_WARM, 1, progress(15), elapsed_ms=812, level=Level.FIRE)
    )
    assert (shown.key, shown.text) == ("fire", "🔥 Warming… 15/38 · 812 ms")
    shown = model.apply(
        Event(WarmEvent.BATCH_SLOW, 1, progress(17), elapsed_ms=3412, level=Level.SLOW)
    )
    assert (shown.key, shown.text) == ("slow", "💀 Warming… 17/38 · 3412 ms")
    shown = model.apply(Event(WarmEvent.BATCH_FAIL, 1, progress(17), message="timeout"))
    assert (shown.key, shown.text) == ("slow", "💀 Warming… 17/38 · 3412 ms · 1 failed")
    shown = model.apply(
        Event(WarmEvent.COMPLETE, 1, progress(38), data={"duration_s": 41.3, "failed": 0})
    )
    assert (shown.key, shown.text) == ("complete", "✅ 38/38 warm · updated just now")
    shown = model.apply(Event(WarmEvent.REWARM, 2, progress(0), data={"reason": "periodic"}))
    assert (shown.key, shown.text) == ("complete", "🔄 Re-warming… 0/38")


def doc_with(checks: list[dict[str, Any]]) -> dict[str, Any]:
    return {"projects": {"p": {"cycle": {}, "checks": checks}}}


def gpu_check(region: str, metric: str, status: str = "ok", **values: Any) -> dict[str, Any]:
    """A check as the warmer writes it: a usage only from regions.get (source compute); a
    limit without usage from Cloud Quotas (source cloudquotas), as on-demand H100 always is."""
    usage = values.get("usage", 0.0)
    source = {"ok": "compute" if usage is not None else "cloudquotas", "absent": "compute"}
    return {
        "kind": "c3" if metric == "C3_CPUS" else "gpu",
        "region": region,
        "metric": metric,
        "status": status,
        "limit": values.get("limit", 8.0),
        "usage": usage,
        "fetched_at": values.get("at", "2026-11-24T10:00:00.000+00:00"),
        "error": None,
        "source": source.get(status),
    }


ANSWERED = [
    gpu_check("us-west1", "NVIDIA_A100_GPUS", limit=16.0, usage=8.0),
    # regions.get did not list A100 there: the family quota answered, usage unknown
    gpu_check("europe-west4", "NVIDIA_A100_GPUS", limit=8.0, usage=None),
    gpu_check("us-central1", "NVIDIA_A100_GPUS", limit=8.0, usage=8.0),
    gpu_check("us-west1", "NVIDIA_H200_GPUS", "absent", limit=0.0, usage=0.0),
    gpu_check("us-west1", "NVIDIA_L4_GPUS", limit=4.0, usage=4.0),
    gpu_check("us-east5", "C3_CPUS", limit=200.0, usage=24.0),
]


def fresh(checks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The checks as answered just now."""
    from trayapp.cache import now_iso

    return [{**c, "fetched_at": now_iso()} for c in checks]


def test_quota_lines_and_the_data_age() -> None:
    from trayapp.cache import parse_time
    from trayapp.ui.display import QuotaLine

    now = [parse_time("2026-11-24T10:00:30.000+00:00")]
    model = DisplayModel(TOTAL, clock=lambda: now[0])
    done = Event(
        WarmEvent.COMPLETE,
        1,
        progress(38),
        data={"duration_s": 41.3, "failed": 0},
        snapshot=doc_with(ANSWERED),
    )
    shown = model.apply(done)
    assert shown.text == "✅ 38/38 warm · updated just now"  # not the cycle's duration
    assert tuple(QuotaLine(line.text, line.region) for line in shown.quotas) == (
        QuotaLine("A100 · 8 free us-west1 · ≤ 8 europe-west4", "us-west1"),
        QuotaLine("H200 · not reported", None),
        QuotaLine("L4 · 0 free", None),
        QuotaLine("C3 · 176 free us-east5", "us-east5"),
    )
    assert shown.answer == "A100 8 free us-west1 · C3 176 free us-east5"
    now[0] += 4 * 60
    assert model.display.text == "✅ 38/38 warm · updated 4 min ago"
    # batches of the next cycle keep the lines until it completes
    later = [*ANSWERED[:-1], gpu_check("us-east5", "C3_CPUS", limit=200.0, usage=200.0)]
    model.apply(Event(WarmEvent.REWARM, 2, progress(0), data={"reason": "periodic"}))
    shown = model.apply(
        Event(
            WarmEvent.BATCH_WARM,
            2,
            progress(2),
            elapsed_ms=640,
            level=Level.FIRE,
            snapshot=doc_with(later),
        )
    )
    assert shown.quotas[-1].text == "C3 · 176 free us-east5"
    assert "updated" not in shown.text
    shown = model.apply(
        Event(WarmEvent.COMPLETE, 2, progress(38), data={"failed": 0}, snapshot=doc_with(later))
    )
    assert (shown.quotas[-1].text, shown.quotas[-1].region) == ("C3 · 0 free", None)


def test_the_first_document_fills_the_lines_before_a_cycle_completes() -> None:
    model = DisplayModel(TOTAL)
    shown = model.apply(
        Event(
            WarmEvent.BATCH_WARM,
            1,
            progress(2),
            elapsed_ms=640,
            level=Level.FIRE,
            snapshot=doc_with(ANSWERED),
        )
    )
    assert shown.quotas[0].text.startswith("A100 · 8 free us-west1")  # last run's answers


def test_a_late_rewarm_says_stale_until_the_cycle_completes() -> None:
    model = DisplayModel(TOTAL)
    shown = model.apply(
        Event(WarmEvent.REWARM, 2, progress(0), data={"reason": "periodic", "stale": True})
    )
    assert (shown.key, shown.text) == ("stale", "🕰️ Stale, re-warming… 0/38")
    shown = model.apply(
        Event(WarmEvent.BATCH_WARM, 2, progress(2), elapsed_ms=640, level=Level.FIRE)
    )
    assert (shown.key, shown.text) == ("stale", "🕰️ Stale, re-warming… 2/38 · 640 ms")
    shown = model.apply(
        Event(WarmEvent.COMPLETE, 2, progress(38), data={"duration_s": 40, "failed": 0})
    )
    assert shown.key == "complete"
    shown = model.apply(
        Event(WarmEvent.REWARM, 3, progress(0), data={"reason": "periodic", "stale": False})
    )
    assert shown.key == "complete" and shown.text.startswith("🔄")


def test_a_refused_config_reload_is_no_error_icon() -> None:
    model = DisplayModel(TOTAL)
    model.apply(Event(WarmEvent.COMPLETE, 1, progress(38), data={"duration_s": 4, "failed": 0}))
    shown = model.apply(
        Event(WarmEvent.CONFIG_REJECTED, 1, progress(38), message="config not reloaded")
    )
    assert shown.key == "complete"  # warming goes on with the old settings


def test_error_and_pause_overlay_and_clear() -> None:
    model = DisplayModel(TOTAL)
    model.apply(Event(WarmEvent.BATCH_WARM, 1, progress(15), elapsed_ms=812, level=Level.FIRE))
    shown = model.apply(
        Event(
            WarmEvent.ERROR,
            1,
            progress(15),
            message="credentials rejected (Bearer ya29.abcdef)\nsecond line",
            error_kind="auth",
        )
    )
    assert shown.key == "error"
    assert shown.text.startswith("💥 credentials rejected")
    assert "ya29" not in shown.text and "\n" not in shown.text
    shown = model.apply(Event(WarmEvent.PAUSED, 1, progress(15), data={"paused": True}))
    assert (shown.key, shown.text) == ("paused", "⏸️ Paused · 15/38")
    shown = model.apply(Event(WarmEvent.PAUSED, 1, progress(15), data={"paused": False}))
    assert shown.key == "error"  # still broken after resuming
    shown = model.apply(
        Event(WarmEvent.BATCH_WARM, 1, progress(16), elapsed_ms=640, level=Level.FIRE)
    )
    assert (shown.key, shown.text) == ("fire", "🔥 Warming… 16/38 · 640 ms")


def test_a_failed_cycle_is_never_complete_and_its_retry_says_so() -> None:
    model = DisplayModel(TOTAL)
    data = {"failed": 38, "reasons": ["p/us-east1: permission denied"], "retry_in_s": 60.0}
    shown = model.apply(Event(WarmEvent.INCOMPLETE, 1, progress(38), data=data))
    assert (shown.key, shown.text) == (
        "error",
        "💥 38/38 failed · p/us-east1: permission denied · retry in 60 s",
    )
    shown = model.apply(Event(WarmEvent.RETRY, 1, progress(0), data={"failed": 38}))
    assert (shown.key, shown.text) == ("error", "🔁 Retrying failed checks… 0/38")
    assert latin1_title(shown.text) == "[retry] Retrying failed checks... 0/38"
    shown = model.apply(Event(WarmEvent.COMPLETE, 1, progress(38), data={"failed": 0}))
    assert shown.key == "complete"


def test_xorg_titles_are_latin1() -> None:
    assert latin1_title("🔥 Warming… 15/38 · 812 ms") == "[fire] Warming... 15/38 - 812 ms"
    for text in ("⚠️ x", "😤 x", "💀 x", "✅ 38/38 warm · 41 s", "💥 no", "⏸️ Paused · 1/38"):
        latin1_title(text).encode("latin-1")  # never raises
    assert latin1_title("⏸️ Paused · 15/38") == "[paused] Paused - 15/38"
    assert latin1_title("💥 zone ☃ down") == "[error] zone ? down"
    # a bound stays a bound (usage unknown): never "? 16", which reads as a number lost
    assert latin1_title("B200 ≤ 16 free us-east1") == "B200 <= 16 free us-east1"


def test_package_list_covers_the_programs() -> None:
    listed = set(PACKAGES_FILE.read_text().split())
    assert set(PROGRAMS.values()) <= listed


# --- tray_unavailable_reason --------------------------------------------------------------------


def unavailable_reason(env: dict[str, str]) -> str:
    code = (
        "from trayapp.ui.tray import tray_unavailable_reason\n"
        "print(tray_unavailable_reason() or 'AVAILABLE')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    lines = done.stdout.strip().splitlines()
    assert len(lines) == 1, done.stdout
    return lines[0]


def test_no_display_means_no_tray(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env["XDG_RUNTIME_DIR"] = str(tmp_path)
    assert unavailable_reason(env) == (
        "no graphical session: neither DISPLAY nor WAYLAND_DISPLAY is set"
    )


@pytest.mark.desktop
def test_dead_display_is_reported_without_traceback(desktop: Desktop) -> None:  # noqa: F811
    unused = next(n for n in range(4242, 4300) if not Path(f"/tmp/.X11-unix/X{n}").exists())
    env = {**desktop.env, "DISPLAY": f":{unused}"}
    for backend in ("xorg", "gtk", None):
        if backend:
            env["PYSTRAY_BACKEND"] = backend
        else:
            env.pop("PYSTRAY_BACKEND", None)
        reason = unavailable_reason(env)
        assert reason.startswith("pystray cannot start: "), reason


@pytest.mark.desktop
def test_no_tray_host_is_reported(desktop_without_tray: Desktop) -> None:  # noqa: F811
    reason = unavailable_reason(desktop_without_tray.env)
    assert reason == (
        f"no system tray on {desktop_without_tray.display}: nothing owns _NET_SYSTEM_TRAY_S0"
        " (no panel with a notification area is running)"
    )


@pytest.mark.desktop
def test_tray_host_present_is_available(desktop: Desktop) -> None:  # noqa: F811
    assert unavailable_reason(desktop.env) == "AVAILABLE"
    assert unavailable_reason({**desktop.env, "PYSTRAY_BACKEND": "xorg"}) == "AVAILABLE"


# --- a TrayApp in a child process ---------------------------------------------------------------


class TrayProcess:
    """tests/tray_child.py running a TrayApp with a recording controller."""

    def __init__(self, desk: Desktop, backend: str, workdir: Path) -> None:
        self.desk = desk
        self.calls = workdir / "calls.txt"
        self.stderr_path = workdir / f"tray-{backend}.err"
        env = {**desk.env, "PYSTRAY_BACKEND": backend}
        with self.stderr_path.open("wb") as stderr:
            self.proc = subprocess.Popen(
                [sys.executable, str(CHILD), "--calls", str(self.calls), "--total", str(TOTAL)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=stderr,
                env=env,
                text=True,
                start_new_session=True,
            )
        self.replies: queue.Queue[dict[str, Any]] = queue.Queue()
        self.exited = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            message = json.loads(line)
            if message.get("exited"):
                self.exited.set()
            else:
                self.replies.put(message)

    def cmd(self, timeout: float = 10.0, **command: Any) -> dict[str, Any]:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(command) + "\n")
        self.proc.stdin.flush()
        try:
            reply = self.replies.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(
                f"no answer to {command} in {timeout} s; {self.stderr()}"
            ) from None
        assert reply.get("ok"), reply
        return reply

    def event(self, kind: str, **spec: Any) -> dict[str, Any]:
        return self.cmd(cmd="event", kind=kind, **spec)

    def state(self) -> dict[str, Any]:
        return self.cmd(cmd="state")

    def call_names(self) -> list[str]:
        return self.calls.read_text().splitlines() if self.calls.exists() else []

    def wait_call(self, name: str, timeout: float = 10.0) -> None:
        wait_for(lambda: name in self.call_names(), timeout, f"the controller to get {name}")

    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")[-3000:]

    def icon(self, timeout: float = 15.0) -> Geometry:
        """The docked icon, once the app shows it and trayer has embedded it."""
        last: list[list[Geometry]] = [[]]

        def settled() -> list[Geometry] | None:
            # trayer lays an icon out more than once: take it when two reads agree
            icons = self.desk.docked_icons() if self.state()["shown"] else []
            agreed = icons and icons == last[0]
            last[0] = icons
            return icons if agreed else None

        icons = wait_for(settled, timeout, "the tray icon to dock in trayer", interval=0.2)
        assert len(icons) == 1, icons
        return icons[0]

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                self.cmd(cmd="stop", timeout=5)
                self.proc.wait(10)
            except (AssertionError, OSError, subprocess.TimeoutExpired):
                pass
        stop_process(self.proc)


@pytest.fixture(params=["xorg", "gtk"])
def backend(request: pytest.FixtureRequest) -> str:
    if request.param == "gtk":
        require_gtk()
    return request.param


@pytest.fixture
def tray(desktop: Desktop, backend: str, tmp_path: Path) -> Iterator[TrayProcess]:  # noqa: F811
    child = TrayProcess(desktop, backend, tmp_path)
    try:
        yield child
    finally:
        child.close()


# --- comparing what is on screen with the icon files ------------------------------------------


def state_distances(shot: Any) -> dict[str, float]:
    """Mean colour difference between the icon slot and every state's icon file.

    Each file is resized the way the backends do it (a square as large as the slot's short
    side, or the GTK stock size that fits), composited onto the slot's background and placed
    in the middle; the difference is measured on the icon's opaque pixels.
    """
    from PIL import Image, ImageChops, ImageStat

    from trayapp.ui.icons import load_icon

    width, height = shot.size
    short = min(width, height)
    sides = sorted({short, *(s for s in (16, 24, 32, 48) if s <= short)}, reverse=True)[:3]
    background = Image.new("RGB", shot.size, shot.getpixel((0, 0)))
    distances = {}
    for state in STATES:
        icon = load_icon(state, 2)
        best = float("inf")
        for side in sides:
            sized = icon.resize((side, side), Image.Resampling.LANCZOS)
            mask = sized.getchannel("A").point(lambda a: a > 128 and 255)
            for dx in (-1, 0, 1):
                for dy in (-1, 0, 1):
                    left = (width - side) // 2 + dx
                    top = (height - side) // 2 + dy
                    if left < 0 or top < 0 or left + side > width or top + side > height:
                        continue
                    expected = background.copy()
                    expected.paste(sized, (left, top), sized)
                    box = (left, top, left + side, top + side)
                    diff = ImageChops.difference(shot.crop(box), expected.crop(box))
                    best = min(best, sum(ImageStat.Stat(diff, mask).mean) / 3)
        distances[state] = best
    return distances


def wait_showing(tray: TrayProcess, slot: Geometry, state: str, timeout: float = 10.0) -> float:
    """Wait until the docked icon's pixels are closest to ``state``'s icon file."""

    seen: dict[str, float] = {}

    def closest() -> float | None:
        # trayer may resize the slot after docking: measure where the icon is now
        docked = tray.desk.docked_icons()
        box = docked[0].box if len(docked) == 1 else slot.box
        seen.clear()
        seen.update(state_distances(tray.desk.grab(box)))
        best = min(seen, key=seen.__getitem__)
        return seen[best] if best == state and seen[best] < 25 else None

    try:
        return wait_for(closest, timeout, f"the tray to show the {state} icon")
    except AssertionError as exc:
        shown = ", ".join(f"{name} {d:.1f}" for name, d in sorted(seen.items(), key=lambda i: i[1]))
        raise AssertionError(f"{exc}; mean colour differences: {shown}") from None


# --- the tests on the desktop ---------------------------------------------------------------------


@pytest.mark.desktop
def test_icon_docks_in_trayer(
    tray: TrayProcess,
    backend: str,
    desktop: Desktop,  # noqa: F811
) -> None:
    slot = tray.icon()
    assert tray.state()["backend"] == backend
    panel = desktop.tray_panel()
    assert panel is not None
    assert panel.x <= slot.x and slot.x + slot.width <= panel.x + panel.width
    assert panel.y <= slot.y and slot.y + slot.height <= panel.y + panel.height
    wait_showing(tray, slot, "fire")


@pytest.mark.desktop
def test_icon_pixels_follow_the_events(
    tray: TrayProcess,
    backend: str,
    desktop: Desktop,  # noqa: F811
) -> None:
    slot = tray.icon()
    steps = [
        ("warn", {"kind": "BATCH_SLOW", "done": 4, "elapsed_ms": 2100, "level": "warn"}),
        ("slowish", {"kind": "BATCH_SLOW", "done": 6, "elapsed_ms": 2600, "level": "slowish"}),
        ("slow", {"kind": "BATCH_SLOW", "done": 8, "elapsed_ms": 3400, "level": "slow"}),
        ("fire", {"kind": "BATCH_WARM", "done": 15, "elapsed_ms": 812, "level": "fire"}),
        (
            "complete",
            {"kind": "COMPLETE", "done": 38, "data": {"duration_s": 41.2, "failed": 0}},
        ),
        ("error", {"kind": "ERROR", "message": "credentials expired", "error_kind": "auth"}),
        ("paused", {"kind": "PAUSED", "done": 38, "data": {"paused": True}}),
    ]
    texts = {}
    for state, spec in steps:
        reply = tray.event(**spec)
        assert reply["key"] == state
        texts[state] = reply["text"]
        wait_showing(tray, slot, state)
        if state == "fire" and backend == "gtk":
            desktop.save_doc_screenshot("tray.png", desktop.tray_panel().box)
    assert texts["fire"] == "🔥 Warming… 15/38 · 812 ms"
    assert texts["complete"] == "✅ 38/38 warm · updated just now"
    assert texts["error"] == "💥 credentials expired"
    assert texts["paused"] == "⏸️ Paused · 38/38"
    assert tray.state()["push_counts"]["icon"] == len(steps)


@pytest.mark.desktop
def test_unchanged_state_does_not_touch_the_icon(tray: TrayProcess) -> None:
    tray.icon()
    batch = {"kind": "BATCH_WARM", "done": 15, "elapsed_ms": 812, "level": "fire"}
    first = tray.event(**batch)["push_counts"]
    assert first == {"icon": 0, "title": 1, "menu": 1}  # fire already; only the text changed
    for _ in range(5):
        assert tray.event(**batch)["push_counts"] == first
    moved = tray.event(**{**batch, "done": 16})["push_counts"]
    assert moved == {"icon": 0, "title": 2, "menu": 2}
    slower = tray.event(kind="BATCH_SLOW", done=16, elapsed_ms=812, level="warn")["push_counts"]
    assert slower == {"icon": 1, "title": 3, "menu": 3}


@pytest.mark.desktop
def test_left_click_rewarms(tray: TrayProcess, desktop: Desktop) -> None:  # noqa: F811
    slot = tray.icon()
    desktop.click(*slot.center, button=1)
    tray.wait_call("force_rewarm")
    assert tray.call_names() == ["force_rewarm"]


@pytest.mark.desktop
def test_xorg_title_is_latin1_text(desktop: Desktop, tmp_path: Path) -> None:  # noqa: F811
    child = TrayProcess(desktop, "xorg", tmp_path)
    try:
        child.icon()
        child.event(kind="BATCH_WARM", done=15, elapsed_ms=812, level="fire")
        wait_for(
            lambda: desktop.docked_icons()[0].name == "[fire] Warming... 15/38 - 812 ms",
            10,
            "the icon window's WM_NAME to follow",
        )
    finally:
        child.close()


@pytest.mark.desktop
def test_icon_docks_when_the_tray_host_starts_later(
    desktop_without_tray: Desktop,  # noqa: F811
    backend: str,
    tmp_path: Path,
) -> None:
    child = TrayProcess(desktop_without_tray, backend, tmp_path)
    try:
        wait_for(lambda: child.state()["shown"], 15, "the icon to be shown")
        assert desktop_without_tray.tray_panel() is None
        desktop_without_tray.start_tray()
        slot = child.icon(timeout=20)
        wait_showing(child, slot, "fire")
        desktop_without_tray.click(*slot.center)
        child.wait_call("force_rewarm")
    finally:
        child.close()


def open_menu(tray: TrayProcess, slot: Geometry) -> dict[str, dict[str, Any]]:
    """Right-click the icon and return the open menu's items by label."""
    tray.desk.click(*slot.center, button=3)
    menu = wait_for(
        lambda: (reply := tray.cmd(cmd="menu")).get("visible") and reply,
        10,
        "the menu to open",
    )
    return {item["label"]: item for item in menu["items"] if item["label"]}


def click_item(tray: TrayProcess, item: dict[str, Any]) -> None:
    x = item["x"] + item["width"] // 2
    y = item["y"] + item["height"] // 2
    tray.desk.click(x, y, button=1)


def readme_menu_order() -> list[str]:
    """The menu as the README's "The tray" section lists it, item by item."""
    import re

    text = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    found = re.search(r"The menu \(right click\) has, in this order: (.*?)\.\n", text, re.S)
    assert found, "the README no longer lists the menu"
    return [item.strip() for item in re.split(r"[;,]", " ".join(found.group(1).split()))]


@pytest.mark.desktop
def test_gtk_menu_items_work(desktop: Desktop, tmp_path: Path) -> None:  # noqa: F811
    require_gtk()
    tray = TrayProcess(desktop, "gtk", tmp_path)
    try:
        slot = tray.icon()
        tray.event(kind="BATCH_WARM", done=15, elapsed_ms=812, level="fire")

        items = open_menu(tray, slot)
        labels = list(items)
        assert labels[0] == "<b>Rewarm now</b>"  # the default item comes first, in bold
        assert labels[1:] == [
            "🔥 Warming… 15/38 · 812 ms",
            "Quotas",
            "Requests",
            "Pause",
            "Notifications",
            "Show stats",
            "Open log",
            "Open cache folder",
            "Quit",
        ]
        in_readme = {
            "the status line": labels[1],
            "Pause/Resume": "Pause",
            "Notifications on/off": "Notifications",
        }
        assert [in_readme.get(item, item) for item in readme_menu_order()] == [
            "Rewarm now",
            *labels[1:],
        ]
        assert not items["🔥 Warming… 15/38 · 812 ms"]["sensitive"]
        # a batch while the menu is open relabels the status line; the menu stays open
        tray.event(kind="BATCH_WARM", done=16, elapsed_ms=640, level="fire")
        live = wait_for(
            lambda: (
                (reply := tray.cmd(cmd="menu"))["items"][1]["label"] == "🔥 Warming… 16/38 · 640 ms"
                and reply
            ),
            10,
            "the open menu's status line to follow",
        )
        assert live["visible"]
        items = {item["label"]: item for item in live["items"] if item["label"]}
        click_item(tray, items["Pause"])
        tray.wait_call("pause")
        wait_for(lambda: tray.state()["key"] == "paused", 10, "the paused state")
        wait_showing(tray, slot, "paused")
        wait_for(lambda: tray.cmd(cmd="menu").get("visible") is False, 10, "the menu to close")

        items = open_menu(tray, slot)
        assert "Resume" in items and "⏸️ Paused · 16/38" in items
        click_item(tray, items["Resume"])
        tray.wait_call("resume")
        wait_for(lambda: tray.state()["key"] == "fire", 10, "the state before the pause")

        items = open_menu(tray, slot)
        click_item(tray, items["Notifications"])
        wait_for(lambda: tray.state()["notifications"] is False, 10, "notifications off")

        items = open_menu(tray, slot)
        click_item(tray, items["Open log"])
        tray.wait_call("open calls.txt")

        items = open_menu(tray, slot)
        click_item(tray, items["Show stats"])
        tray.wait_call("show stats")

        items = open_menu(tray, slot)
        click_item(tray, items["Quit"])
        tray.wait_call("quit")
        assert tray.proc.wait(10) == 0
        assert tray.exited.wait(5)
        assert tray.call_names() == ["pause", "resume", "open calls.txt", "show stats", "quit"]
        wait_for(lambda: not desktop.docked_icons(), 10, "the icon to leave the tray")
    finally:
        tray.close()


@pytest.mark.desktop
def test_gtk_quotas_submenu_copies_the_best_region(desktop: Desktop, tmp_path: Path) -> None:  # noqa: F811
    require_gtk()
    tray = TrayProcess(desktop, "gtk", tmp_path)
    try:
        slot = tray.icon()
        items = open_menu(tray, slot)
        click_item(tray, items["Quotas"])  # before any answer: says so
        sub = wait_for(lambda: submenu(tray), 10, "the Quotas submenu to open")
        assert [(i["label"], i["sensitive"]) for i in sub] == [("No answers yet", False)]
        # a cycle completes while the menu is open: the next opening shows its answers
        answered = doc_with(fresh(ANSWERED))
        tray.event(kind="COMPLETE", done=38, data={"failed": 0}, snapshot=answered)
        desktop.key("Escape", "Escape")
        wait_for(lambda: tray.cmd(cmd="menu").get("visible") is False, 10, "the menu to close")

        items = open_menu(tray, slot)
        assert list(items)[1] == "✅ 38/38 warm · updated just now"
        tray.cmd(cmd="advance", seconds=4 * 60)  # no event: the tray looks again by itself
        wait_for(
            lambda: tray.state()["title"] == "✅ 38/38 warm · updated 4 min ago",
            10,
            "the tooltip to say how old the data is",
        )
        live = wait_for(
            lambda: (m := tray.cmd(cmd="menu"))["items"][1]["label"].endswith("4 min ago") and m,
            10,
            "the open menu's status line to age too",
        )
        items = {item["label"]: item for item in live["items"] if item["label"]}
        click_item(tray, items["Quotas"])
        sub = wait_for(lambda: submenu(tray), 10, "the Quotas submenu to open")
        labels = [i["label"] for i in sub]
        assert labels == [
            "A100 · 8 free us-west1 · ≤ 8 europe-west4",
            "H200 · not reported",
            "L4 · 0 free",
            "C3 · 176 free us-east5",
            "",  # the separator
            "Click a line to copy its best region",
            "Ask for more quota",
        ]
        assert [i["sensitive"] for i in sub] == [True, False, False, True, True, False, True]
        click_item(tray, sub[0])
        wait_for(lambda: tray.state()["copied"] == ["us-west1"], 10, "the region to be copied")
        assert desktop.selection_text("CLIPBOARD") == "us-west1"  # what Ctrl+V pastes
        assert desktop.selection_text("PRIMARY") == "us-west1"  # and a middle click
    finally:
        tray.close()


def submenu(tray: TrayProcess) -> list[dict[str, Any]] | None:
    """The open submenu's items (None while none is open)."""
    reply = tray.cmd(cmd="menu")
    for item in reply.get("items") or ():
        if item.get("submenu"):
            return item["submenu"]
    return None


@pytest.mark.desktop
def test_xorg_tooltip_carries_the_short_answer(desktop: Desktop, tmp_path: Path) -> None:  # noqa: F811
    child = TrayProcess(desktop, "xorg", tmp_path)
    try:
        child.icon()
        family = gpu_check("us-east1", "NVIDIA_B200_GPUS", limit=16.0, usage=None)
        child.event(
            kind="COMPLETE",
            done=38,
            data={"failed": 0},
            snapshot=doc_with(fresh([*ANSWERED, family])),
        )
        wait_for(
            lambda: (
                desktop.docked_icons()[0].name == "[ok] 38/38 warm - updated just now"
                " - A100 8 free us-west1 - B200 <= 16 free us-east1 - C3 176 free us-east5"
            ),
            10,
            "the icon window's WM_NAME to carry the answer",
        )
    finally:
        child.close()


@pytest.mark.desktop
def test_the_stats_chart_drawn_inside_the_gtk_tray_is_the_chart_drawn_alone(
    desktop: Desktop,  # noqa: F811
    tmp_path: Path,
) -> None:
    """Once GTK has drawn text in the process, Pillow's raqm layout measured words wrong
    (the chart's labels came out as single letters); the chart must not care where it is
    drawn."""
    require_gtk()
    from history_samples import known_history
    from PIL import Image, ImageChops

    from trayapp import history
    from trayapp.ui import plot

    hist = tmp_path / "history.sqlite3"
    known_history(hist)
    alone = plot.draw_chart(history.series(hist, None), tmp_path / "alone.png")
    tray = TrayProcess(desktop, "gtk", tmp_path)
    try:
        slot = tray.icon()
        open_menu(tray, slot)  # GTK lays out and draws the menu's text
        desktop.key("Escape")
        wait_for(lambda: tray.cmd(cmd="menu").get("visible") is False, 10, "the menu to close")
        tray.cmd(cmd="chart", history=str(hist), out=str(tmp_path / "in-tray.png"), timeout=60)
    finally:
        tray.close()
    with Image.open(alone) as a, Image.open(tmp_path / "in-tray.png") as b:
        assert a.size == b.size
        assert ImageChops.difference(a.convert("RGB"), b.convert("RGB")).getbbox() is None


def require_appindicator() -> None:
    require_gtk()
    probe = subprocess.run(
        [
            sys.executable,
            "-c",
            "import gi; gi.require_version('AyatanaAppIndicator3', '0.1')",
        ],
        capture_output=True,
        timeout=30,
        check=False,
    )
    if probe.returncode != 0:
        message = "the AppIndicator test needs: apt-get install -y gir1.2-ayatanaappindicator3-0.1"
        if os.environ.get("CI") == "true":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)


@pytest.mark.desktop
def test_appindicator_backend_without_a_status_notifier_host(
    desktop: Desktop,  # noqa: F811
    tmp_path: Path,
) -> None:
    """With no StatusNotifier watcher AppIndicator falls back to an XEmbed icon; it has no
    default action, so any click opens the menu, whose first item re-warms."""
    require_appindicator()
    tray = TrayProcess(desktop, "appindicator", tmp_path)
    try:
        slot = tray.icon()
        assert tray.state()["backend"] == "appindicator"
        tray.event(kind="BATCH_SLOW", done=3, elapsed_ms=3300, level="slow")
        wait_showing(tray, slot, "slow")
        desktop.click(*slot.center, button=1)
        menu = wait_for(
            lambda: (reply := tray.cmd(cmd="menu")).get("visible") and reply,
            10,
            "the menu to open",
        )
        first = menu["items"][0]
        assert first["label"] == "<b>Rewarm now</b>"
        click_item(tray, first)
        tray.wait_call("force_rewarm")
    finally:
        tray.close()
    from trayapp.ui.icons import STATES as ALL_STATES
    from trayapp.ui.icons import icon_path

    assert all(icon_path(state).is_file() for state in ALL_STATES)  # package data intact


@pytest.mark.desktop
def test_stop_from_another_thread_ends_run(tray: TrayProcess) -> None:
    tray.icon()
    started = time.monotonic()
    tray.cmd(cmd="stop")
    assert tray.proc.wait(10) == 0
    assert tray.exited.is_set() or tray.exited.wait(5)
    assert time.monotonic() - started < 10
