"""The real app end to end: `python -m trayapp demo` on a private desktop, for both backends.

The demo runs the built-in Compute API emulator in the app's own process; its per-region
latencies are fixed, so a config that picks the regions (one per batch) and the thresholds
decides every batch's level. Each test starts the app as a subprocess on the desktop's display
and session bus, with the desktop's XDG directories, and watches what a person would: the icon
docked in trayer (its pixels compared with the state icons), the log, `quota-tray status`, the
notifications dunst received. Every wait has a deadline; every app is stopped in ``finally``.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

# Fixtures come from tests/desktop.py (tests/conftest.py imports them as well).
from desktop import (  # noqa: F401
    SCREEN,
    Desktop,
    Geometry,
    desktop,
    desktop_without_notifications,
    desktop_without_tray,
    require_gtk,
    stop_process,
    wait_for,
)
from PIL import Image
from test_tray_desktop import state_distances

from trayapp import control

pytestmark = pytest.mark.desktop

ROOT = Path(__file__).resolve().parents[2]
MAX_DISTANCE = 25  # mean colour difference below which a state's icon counts as shown
START_TIMEOUT_S = 30  # start-up imports google-cloud-compute (about 1.5 s on an idle machine)
EXIT_WITHIN_S = 3.0  # "a couple of seconds" from Ctrl+C or SIGTERM to the exit

# Four batches of one region each (the GPU and the C3 check of a batch share the region's
# answer). Demo latencies: us-central1 300 ms, us-west2 2700 ms, northamerica-northeast1
# 1300 ms, us-east1 450 ms; the thresholds keep every one far from a boundary. --speed
# divides latencies and thresholds alike, so the levels are fire, slowish, warn, fire.
LEVELS_REGIONS = ["us-central1", "us-west2", "northamerica-northeast1", "us-east1"]
LEVELS_CONFIG = f"""
[thresholds]
warn_ms = 1000
slowish_ms = 2400
slow_ms = 3300

[gpu]
metrics = ["NVIDIA_T4_GPUS"]  # offered in each of these regions: no family quota call
regions = {json.dumps(LEVELS_REGIONS)}

[c3]
regions = {json.dumps(LEVELS_REGIONS)}
"""
LEVELS_ARGS = ("--speed", "5", "--interval", "6")  # a batch every 1.2 s: each level shows ~1 s
LEVELS_ICONS = ["fire", "slowish", "warn", "complete"]
# the last batch's own icon (fire) shows while the round's extras are asked, when the watch
# catches it: either sequence is what the levels were
LEVELS_SEEN = (LEVELS_ICONS, [*LEVELS_ICONS[:-1], "fire", "complete"])
LEVELS_TOKENS = ["BATCH_WARM", "CACHE_WARM_SLOWISH", "CACHE_WARM_WARN", "BATCH_WARM"]

# Six batches, each a fresh region of 250-350 ms (25-35 ms at --speed 10); thresholds of a few
# milliseconds (divided by the speed too) make every one of them 💀 slow.
SLOW_REGIONS = ["asia-east1", "asia-south1", "europe-north1", "me-west1", "us-central1", "us-west1"]
SLOW_CONFIG = f"""
[thresholds]
warn_ms = 1
slowish_ms = 2
slow_ms = 3

[gpu]
metrics = ["NVIDIA_L4_GPUS"]
regions = {json.dumps(SLOW_REGIONS)}

[c3]
regions = {json.dumps(SLOW_REGIONS)}
"""
SLOW_ARGS = ("--speed", "10", "--interval", "3")  # a batch every 0.3 s

BATCH_TOKENS = ("BATCH_WARM", "CACHE_WARM_WARN", "CACHE_WARM_SLOWISH", "CACHE_WARM_SLOW")
TOO_SLOW = "💀 Quota API too slow"


# --- the app in a process of its own ------------------------------------------------------------


class DemoApp:
    """`python -m trayapp demo ARGS` (or ``command``) on ``desk``, with its log, control
    channel and output."""

    def __init__(
        self,
        desk: Desktop,
        workdir: Path,
        *args: str,
        backend: str | None = None,
        config: str | None = None,
        name: str = "app",
        extra_env: dict[str, str] | None = None,
        command: str = "demo",
    ) -> None:
        self.desk = desk
        self.command = command
        env = {k: v for k, v in desk.env.items() if not k.startswith(("GOOGLE_", "CLOUDSDK_"))}
        env.update(
            NO_GCE_CHECK="true",
            PYTHONUNBUFFERED="1",
            CLOUDSDK_CONFIG=str(workdir / f"{name}-gcloud"),
            **(extra_env or {}),
        )
        if backend:
            env["PYSTRAY_BACKEND"] = backend
        self.env = env
        argv = [sys.executable, "-m", "trayapp", command, *args]
        if config is not None:
            path = workdir / f"{name}.toml"
            path.write_text(config)
            argv += ["--config", str(path)]
        self.stdout_path = workdir / f"{name}.out"
        self.stderr_path = workdir / f"{name}.err"
        with self.stdout_path.open("wb") as out, self.stderr_path.open("wb") as err:
            self.proc = subprocess.Popen(
                argv,
                cwd=ROOT,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                start_new_session=True,
            )

    # -- what it wrote

    @property
    def log_path(self) -> Path:
        logs = Path(self.env["XDG_STATE_HOME"]) / "quota-tray" / "log"
        return (logs / "demo" if self.command == "demo" else logs) / "cache_warm.log"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def lines(self, *tokens: str) -> list[str]:
        """Log lines whose token (the word before the first colon) is one of ``tokens``."""
        return [line for line in self.log().splitlines() if line_token(line) in tokens]

    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")

    def stdout(self) -> str:
        return self.stdout_path.read_text(errors="replace")

    def describe(self) -> str:
        return (
            f"exit status {self.proc.poll()}\n--- stderr\n{self.stderr()[-2000:]}"
            f"\n--- log\n{self.log()[-2000:]}"
        )

    # -- talking to it

    def alive(self) -> bool:
        if self.proc.poll() is not None:
            raise AssertionError(f"the app ended early: {self.describe()}")
        return True

    def status(self) -> dict[str, Any]:
        """`quota-tray status` in this process: the same client, without the start-up cost."""
        directory = Path(self.env["XDG_STATE_HOME"]) / "quota-tray"  # the lock's folder
        if self.command == "demo":
            directory /= "demo"  # the demo's own channel
        return control.send("status", directory, timeout=5)

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        """`quota-tray ARGS` as a user types it, reaching this instance."""
        return subprocess.run(
            [sys.executable, "-m", "trayapp", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    def wait_log(self, token: str, count: int = 1, timeout: float = START_TIMEOUT_S) -> list[str]:
        return wait_for(
            lambda: self.alive() and len(found := self.lines(token)) >= count and found,
            timeout,
            f"{count} {token} line(s) in the log",
        )

    def icon(self, timeout: float = START_TIMEOUT_S) -> Geometry:
        """The app's icon, once trayer has embedded it and laid it out inside its panel (an
        icon just embedded may still sit a pixel outside it)."""

        def settled() -> list[Geometry]:
            panel, icons = self.desk.tray_panel(), self.desk.docked_icons()
            inside = panel is not None and all(
                panel.x <= i.x and i.x + i.width <= panel.x + panel.width for i in icons
            )
            return icons if inside else []

        icons = wait_for(
            lambda: self.alive() and settled(),
            timeout,
            "the app's icon to dock in trayer",
        )
        assert len(icons) == 1, icons
        return icons[0]

    def wait_exit(self, timeout: float = 10.0) -> int:
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"the app did not exit within {timeout:g} s") from None

    def close(self) -> None:
        stop_process(self.proc)


def line_token(line: str) -> str:
    """``BATCH_WARM`` from ``2026-...+00:00 🔥 BATCH_WARM: GPU 1/4, ...``."""
    parts = line.split(" ", 2)
    return parts[2].split(":", 1)[0] if len(parts) == 3 else ""


def cycle_seconds(complete_line: str) -> float:
    """The cycle's duration from a ``CACHE_WARM_COMPLETE: ... in 5.5s - ...`` line."""
    found = re.search(r" in ([0-9.]+)s - ", complete_line)
    assert found, complete_line
    return float(found.group(1))


def batches_between(log_lines: list[str], start: str, end: str) -> list[str]:
    """Tokens of the batch lines after the first ``start`` line up to the next ``end`` line."""
    tokens = [line_token(line) for line in log_lines]
    first = tokens.index(start) + 1
    return [token for token in tokens[first : tokens.index(end, first)] if token in BATCH_TOKENS]


# --- what the tray shows ------------------------------------------------------------------------


def shown_state(desk: Desktop) -> str | None:
    """The state icon the docked icon's pixels are closest to (None: no icon, or no match)."""
    icons = desk.docked_icons()
    if len(icons) != 1:
        return None
    distances = state_distances(desk.grab(icons[0].box))
    best = min(distances, key=distances.__getitem__)
    return best if distances[best] < MAX_DISTANCE else None


class IconWatch:
    """Polls the docked icon and records every state it settles on (seen twice running)."""

    def __init__(self, desk: Desktop) -> None:
        self.desk = desk
        self.seen: list[str] = []
        self._last: str | None = None
        self._streak = 0

    def poll(self) -> None:
        state = shown_state(self.desk)
        if state == self._last:
            self._streak += 1
        else:
            self._last, self._streak = state, 1
        if state is not None and self._streak == 2 and self.seen[-1:] != [state]:
            self.seen.append(state)

    def until(self, condition: Callable[[], Any], timeout: float, what: str) -> None:
        """Keep polling until ``condition()`` is true after a poll."""
        deadline = time.monotonic() + timeout
        while True:
            self.poll()
            if condition():
                return
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"timed out after {timeout:g} s waiting for {what}; icon states: {self.seen}"
                )
            time.sleep(0.02)


def wait_showing(desk: Desktop, state: str, timeout: float = 10.0) -> None:
    wait_for(lambda: shown_state(desk) == state, timeout, f"the tray to show the {state} icon")


# --- notifications --------------------------------------------------------------------------------


def notification_count(desk: Desktop) -> int:
    """Notifications dunst has received: on screen, waiting, or closed into its history."""
    return sum(
        int(desk.run("dunstctl", "count", which).strip())
        for which in ("displayed", "waiting", "history")
    )


def wait_notifications(desk: Desktop, count: int, timeout: float = 15.0) -> None:
    wait_for(
        lambda: notification_count(desk) >= count, timeout, f"{count} notification(s) in dunst"
    )


# --- the GTK menu, found on the screen ------------------------------------------------------------


def open_menu(app: DemoApp) -> Geometry:
    """Right-click the icon; the menu's window once it is up."""
    desk = app.desk
    desk.click(*app.icon().center, button=3)

    def menu() -> Geometry | None:
        app.alive()
        windows = open_menu_windows(desk)
        return max(windows, key=lambda g: g.height) if windows else None

    return wait_for(menu, 10, "the menu to open")


def menu_sections(desk: Desktop, menu: Geometry) -> list[tuple[int, int]]:
    """(top, bottom) in screen coordinates of the menu's groups between separators.

    A separator is a row of one colour that is not the menu's background. The app's menu is
    [Rewarm now, status, Quotas] | [Pause or Resume, Notifications] | [Show stats, Open log,
    Open cache folder] | [Quit]; rows are read from the screen, not assumed.
    """
    shot = desk.grab(menu.box)
    width, height = shot.size
    margin = width // 10
    plain: dict[int, tuple[int, int, int]] = {}
    for y in range(1, height - 1):  # the first and last rows are the border
        colours = {shot.getpixel((x, y)) for x in range(margin, width - margin)}
        if len(colours) == 1:
            plain[y] = colours.pop()
    assert plain, "no plain rows in the menu"
    background = max(set(plain.values()), key=list(plain.values()).count)
    separators = [y for y, colour in plain.items() if colour != background]
    bounds = [0, *separators, height - 1]
    return [(menu.y + top, menu.y + bottom) for top, bottom in itertools.pairwise(bounds)]


def click_menu_item(app: DemoApp, group: int, index: int, count: int) -> None:
    """Open the menu and click item ``index`` of the ``count`` equal rows of group ``group``."""
    open_menu(app)

    def drawn() -> tuple[Geometry, list[tuple[int, int]]] | None:
        # the geometry is read again each time: GTK may still move or resize a new menu
        menu = max(open_menu_windows(app.desk), key=lambda g: g.height)
        found = menu_sections(app.desk, menu)
        return (menu, found) if len(found) == 4 else None

    menu, sections = wait_for(drawn, 5, "the menu to be drawn with its three separators")
    top, bottom = sections[group]
    row = (bottom - top) / count
    app.desk.click(menu.x + menu.width // 3, round(top + row * (index + 0.5)))
    wait_for(lambda: not open_menu_windows(app.desk), 10, "the menu to close")


def open_menu_windows(desk: Desktop) -> list[Geometry]:
    """Popup windows big enough to be the menu (GTK also maps a 10x10 one off screen)."""
    return [
        g
        for g in desk.popup_windows()
        if g.x >= 0 and g.y >= 0 and g.height > 100 and g.wm_class[:1] != ("Dunst",)
    ]


# --- fixtures -------------------------------------------------------------------------------------


@pytest.fixture(params=["gtk", "xorg"])
def backend(request: pytest.FixtureRequest) -> str:
    if request.param == "gtk":
        require_gtk()
    return request.param


# --- the tests ------------------------------------------------------------------------------------


def test_icon_follows_the_levels_and_a_left_click_rewarms(
    desktop: Desktop,  # noqa: F811
    backend: str,
    tmp_path: Path,
) -> None:
    app = DemoApp(desktop, tmp_path, *LEVELS_ARGS, backend=backend, config=LEVELS_CONFIG)
    try:
        slot = app.icon()
        panel = desktop.tray_panel()
        assert panel is not None
        assert panel.x <= slot.x and slot.x + slot.width <= panel.x + panel.width

        # Cycle 1: the icon goes through each batch's level and ends on ✅.
        watch = IconWatch(desktop)
        watch.until(
            lambda: (
                app.alive() and app.lines("CACHE_WARM_COMPLETE") and watch.seen[-1:] == ["complete"]
            ),
            START_TIMEOUT_S,
            "the first cycle to complete",
        )
        assert watch.seen in LEVELS_SEEN, app.log()
        log_lines = app.log().splitlines()
        assert (
            batches_between(log_lines, "CACHE_WARM_START", "CACHE_WARM_COMPLETE") == LEVELS_TOKENS
        )
        status = app.status()
        assert (status["cycle"], status["level"]) == (1, "complete")
        assert status["done"] == status["total"] == 2 * len(LEVELS_REGIONS)

        wait_notifications(desktop, 1)
        if backend == "gtk":
            bubble = wait_for(desktop.notification_bubbles, 10, "the bubble on screen")[0]
            left = min(panel.x, bubble.x) - 10
            desktop.save_doc_screenshot(
                "app-tray.png", (left, 0, SCREEN[0], bubble.y + bubble.height + 10)
            )

        # A left click on the icon starts cycle 2, which the icon follows again.
        watch = IconWatch(desktop)
        watch.until(lambda: watch.seen == ["complete"], 10, "the icon to hold at complete")
        desktop.click(*app.icon().center, button=1)
        statuses: list[dict[str, Any]] = []

        def cycle_2_complete() -> bool:
            statuses.append(app.status())
            latest = statuses[-1]
            return (
                latest["cycle"] == 2
                and latest["done"] == latest["total"]
                and watch.seen[-1:] == ["complete"]
                and len(watch.seen) > 1
            )

        watch.until(cycle_2_complete, START_TIMEOUT_S, "the re-warm cycle to complete")
        assert watch.seen in [["complete", *seen] for seen in LEVELS_SEEN], app.log()
        rewarms = app.lines("CACHE_REWARM")
        assert len(rewarms) == 1 and "forced - cycle 2 begins" in rewarms[0]
        assert any(s["cycle"] == 2 and s["done"] < s["total"] for s in statuses), statuses
        log_lines = app.log().splitlines()
        assert batches_between(log_lines, "CACHE_REWARM", "CACHE_WARM_COMPLETE") == LEVELS_TOKENS
        assert len(app.lines("CACHE_WARM_COMPLETE")) == 2

        shown = app.cli("status", "--json")
        assert shown.returncode == 0, shown.stderr
        status = json.loads(shown.stdout)
        assert (status["cycle"], status["level"], status["paused"]) == (2, "complete", False)
        assert status["done"] == status["total"] == 2 * len(LEVELS_REGIONS)

        # Both cycles were announced: the first warm-up, then the forced re-warm.
        wait_notifications(desktop, 2)
        history = desktop.dunst_history()
        assert [(summary, app_name) for summary, _, app_name in history] == [
            ("✅ Quota cache warm", "quota-tray"),
            ("✅ Re-warm done", "quota-tray"),
        ]
        assert history[0][1].startswith("8/8 checks warm in ")

        quit_ = app.cli("quit")
        assert (quit_.returncode, quit_.stdout.strip()) == (
            0,
            f"quota-tray: quitting (the demo, pid {app.proc.pid}, demo-project)",
        )
        assert app.wait_exit() == 0
        assert app.lines("FINAL_STATS")
        wait_for(lambda: not desktop.docked_icons(), 5, "the icon to leave the tray")
    finally:
        app.close()
    assert "Traceback" not in app.stderr(), app.stderr()


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_ends_the_app_cleanly(
    desktop: Desktop,  # noqa: F811
    backend: str,
    signum: int,
    tmp_path: Path,
) -> None:
    app = DemoApp(desktop, tmp_path, "--speed", "10", "--interval", "3", backend=backend)
    try:
        app.icon()
        app.wait_log("BATCH_WARM")  # warming is under way
        os.killpg(app.proc.pid, signum)  # as Ctrl+C does: the whole foreground group
        started = time.monotonic()
        assert app.wait_exit() == 0, app.describe()
        took = time.monotonic() - started
        assert took < EXIT_WITHIN_S, f"{signum!r} took {took:.1f} s to end the app"
        tail = [line_token(line) for line in app.log().splitlines()[-2:]]
        assert tail == ["CACHE_WARM_CANCELLED", "FINAL_STATS"], app.log()
        wait_for(lambda: not desktop.docked_icons(), 5, "the icon to leave the tray")
    finally:
        app.close()
    assert "Traceback" not in app.stderr(), app.stderr()


def opener_stub(tmp_path: Path) -> tuple[dict[str, str], Path]:
    """A PATH whose ``xdg-open`` writes what it was asked to open into the returned file."""
    folder = tmp_path / "bin"
    folder.mkdir()
    record = tmp_path / "opened.txt"
    stub = folder / "xdg-open"
    stub.write_text(f'#!/bin/sh\nprintf "%s\\n" "$1" >> "{record}"\n')
    stub.chmod(0o755)
    return {"PATH": f"{folder}{os.pathsep}{os.environ.get('PATH', '')}"}, record


def test_gtk_menu_pauses_resumes_shows_stats_and_quits(
    desktop: Desktop,  # noqa: F811
    tmp_path: Path,
) -> None:
    require_gtk()
    interval = 0.3
    path_env, opened = opener_stub(tmp_path)
    app = DemoApp(
        desktop, tmp_path, "--speed", "10", "--interval", "3", backend="gtk", extra_env=path_env
    )
    try:
        app.icon()
        app.wait_log("BATCH_WARM", count=2)

        click_menu_item(app, group=1, index=0, count=2)  # Pause
        paused = wait_for(lambda: (s := app.status())["paused"] and s, 10, "status: paused")
        app.wait_log("CACHE_WARM_PAUSED", timeout=5)
        wait_showing(desktop, "paused")

        def uptime_past(seconds: float) -> Callable[[], bool]:
            return lambda: app.status()["uptime_s"] >= paused["uptime_s"] + seconds

        # A batch already in flight may still land (at most 0.36 s at this speed); after
        # that nothing may move for many intervals, by the app's own clock.
        wait_for(uptime_past(0.6), 10, "the app to be paused for 0.6 s")
        batches, done = len(app.lines(*BATCH_TOKENS)), app.status()["done"]
        wait_for(uptime_past(0.6 + 6 * interval), 10, "six intervals more of pause")
        assert len(app.lines(*BATCH_TOKENS)) == batches, app.log()
        still = app.status()
        assert still["paused"] and still["done"] == done
        assert done < still["total"]  # the pause really interrupted warming

        click_menu_item(app, group=1, index=0, count=2)  # the same item now says Resume
        wait_for(lambda: not app.status()["paused"], 10, "status: not paused")
        app.wait_log("CACHE_WARM_RESUMED", timeout=5)
        wait_for(
            lambda: len(app.lines(*BATCH_TOKENS)) >= batches + 2 and app.status()["done"] > done,
            10,
            "batches to start again",
        )

        # Show stats: the demo's chart, drawn inside this GTK process, in the demo's own folder
        click_menu_item(app, group=2, index=0, count=3)
        cache_dir = Path(app.env["XDG_CACHE_HOME"]) / "quota-tray"
        chart = cache_dir / "demo" / "stats.png"
        wait_for(lambda: opened.exists() and opened.read_text(), 20, "the chart to be opened")
        assert opened.read_text().splitlines() == [str(chart)]
        assert stat.S_IMODE(chart.stat().st_mode) == 0o600
        assert not (cache_dir / "stats.png").exists()  # the real instance's chart is untouched
        with Image.open(chart) as drawn:
            assert drawn.size == (960, 400)

        click_menu_item(app, group=3, index=0, count=1)  # Quit
        assert app.wait_exit() == 0, app.describe()
        assert app.lines("FINAL_STATS")
        wait_for(lambda: not desktop.docked_icons(), 5, "the icon to leave the tray")
    finally:
        app.close()
    assert "Traceback" not in app.stderr(), app.stderr()


def test_slow_api_notifies_once_and_a_missing_daemon_costs_no_time(
    desktop: Desktop,  # noqa: F811
    desktop_without_notifications: Desktop,  # noqa: F811
    tmp_path: Path,
) -> None:
    """Every batch is 💀 slow. With dunst: one "too slow" for two cycles (once per cycle and
    at most once per 10 minutes). Without a notification daemon, run side by side with the same
    settings: the same pace, and one warning on stderr."""
    quiet = desktop_without_notifications
    assert not quiet.notification_daemon_ready()
    loud = DemoApp(desktop, tmp_path, *SLOW_ARGS, config=SLOW_CONFIG, name="loud")
    mute = DemoApp(quiet, tmp_path, *SLOW_ARGS, config=SLOW_CONFIG, name="mute")
    batches = len(SLOW_REGIONS)
    try:
        loud.icon()
        watch = IconWatch(desktop)
        watch.until(
            lambda: (
                loud.alive()
                and loud.lines("CACHE_WARM_COMPLETE")
                and watch.seen[-1:] == ["complete"]
            ),
            START_TIMEOUT_S,
            "the first slow cycle to complete",
        )
        assert watch.seen[-2:] == ["slow", "complete"], loud.log()
        mute.wait_log("CACHE_WARM_COMPLETE")
        wait_notifications(desktop, 2)

        for app in (loud, mute):
            done = app.cli("rewarm")
            assert (done.returncode, done.stdout.strip()) == (
                0,
                f"quota-tray: re-warm started (the demo, pid {app.proc.pid}, demo-project)",
            )
        for app in (loud, mute):
            app.wait_log("CACHE_WARM_COMPLETE", count=2)
        wait_notifications(desktop, 3)  # the re-warm's own ✅ comes after any "too slow" of it

        for app in (loud, mute):
            assert len(app.lines("CACHE_WARM_SLOW")) == 2 * batches, app.log()
            assert len(app.lines(*BATCH_TOKENS)) == 2 * batches, app.log()

        history = desktop.dunst_history()
        assert [summary for summary, _, _ in history] == [
            TOO_SLOW,
            "✅ Quota cache warm",
            "✅ Re-warm done",
        ]
        assert all(app_name == "quota-tray" for _, _, app_name in history)
        assert f"{batches} slow batches" in history[1][1]
        assert f"{batches} slow batches" in history[2][1]

        # The re-warm cycles ran on the same schedule with and without a daemon (the first
        # cycles also include start-up imports, which vary more).
        with_daemon = cycle_seconds(loud.lines("CACHE_WARM_COMPLETE")[1])
        without = cycle_seconds(mute.lines("CACHE_WARM_COMPLETE")[1])
        assert with_daemon > 0
        assert 1 / 1.5 <= without / with_daemon <= 1.5, (with_daemon, without)

        for app in (loud, mute):
            assert app.cli("quit").returncode == 0
        for app in (loud, mute):
            assert app.wait_exit() == 0, app.describe()
    finally:
        loud.close()
        mute.close()
    warnings = [
        line
        for line in mute.stderr().splitlines()
        if "desktop notifications cannot be delivered" in line
    ]
    assert len(warnings) == 1, mute.stderr()
    assert "org.freedesktop.Notifications" in warnings[0]
    for app in (loud, mute):
        assert "Traceback" not in app.stderr(), app.stderr()
    assert "desktop notifications cannot be delivered" not in loud.stderr()


def test_a_reload_applies_the_notification_tone(desktop: Desktop, tmp_path: Path) -> None:  # noqa: F811
    """The config starts with plain notifications and thresholds no batch reaches; SIGHUP
    brings spicy notifications and thresholds every batch passes. The re-warm's "too slow"
    notification speaks the new tone."""
    calm = SLOW_CONFIG.replace("warn_ms = 1\n", "warn_ms = 100000\n")
    calm = calm.replace("slowish_ms = 2\n", "slowish_ms = 200000\n")
    calm = calm.replace("slow_ms = 3\n", "slow_ms = 300000\n")
    assert calm != SLOW_CONFIG
    app = DemoApp(desktop, tmp_path, *SLOW_ARGS, config=calm + '[notifications]\ntone = "plain"\n')
    try:
        app.icon()
        app.wait_log("CACHE_WARM_COMPLETE")
        wait_notifications(desktop, 1)
        (tmp_path / "app.toml").write_text(SLOW_CONFIG + '[notifications]\ntone = "spicy"\n')
        app.proc.send_signal(signal.SIGHUP)
        app.wait_log("CACHE_WARM_CONFIG_RELOADED", timeout=10)
        assert app.cli("rewarm").returncode == 0
        app.wait_log("CACHE_WARM_COMPLETE", count=2)
        wait_notifications(desktop, 3)
        history = desktop.dunst_history()
        assert [summary for summary, _, _ in history] == [
            "✅ Quota cache warm",
            TOO_SLOW,
            "✅ Re-warm done",
        ]
        assert "FUCK OFF! TOO SLOW!" in history[1][1], history[1][1]
        assert app.cli("quit").returncode == 0
        assert app.wait_exit() == 0, app.describe()
    finally:
        app.close()
    assert "Traceback" not in app.stderr(), app.stderr()


# Regions the emulator does not know: every request is a 404, so every check of the cycle fails.
FAILING_CONFIG = """
[gpu]
metrics = ["NVIDIA_L4_GPUS"]
regions = ["mars-north1"]

[c3]
regions = ["mars-north1", "mars-polar1"]
"""


def test_a_cycle_where_every_check_fails_shows_an_error_never_complete(
    desktop: Desktop,  # noqa: F811
    backend: str,
    tmp_path: Path,
) -> None:
    app = DemoApp(desktop, tmp_path, "--speed", "10", backend=backend, config=FAILING_CONFIG)
    try:
        app.icon()
        watch = IconWatch(desktop)
        watch.until(
            lambda: (
                app.alive() and app.lines("CACHE_WARM_INCOMPLETE") and watch.seen[-1:] == ["error"]
            ),
            START_TIMEOUT_S,
            "the failed cycle to show the error icon",
        )
        assert "complete" not in watch.seen, watch.seen
        status = app.status()
        assert (status["level"], status["failed"]) == ("error", 3)
        assert status["not_found"] == ["demo-project/mars-north1", "demo-project/mars-polar1"]
        shown = app.cli("status")
        assert "level: failed" in shown.stdout and "failed: 3 checks" in shown.stdout
        wait_notifications(desktop, 1)
        [(summary, body, _)] = desktop.dunst_history()
        assert summary == "💥 Quota warming failed" and "3 of 3 checks failed" in body
        assert not app.lines("CACHE_WARM_COMPLETE")
        assert app.cli("quit").returncode == 0
        assert app.wait_exit() == 0, app.describe()
    finally:
        app.close()
    assert "Traceback" not in app.stderr(), app.stderr()


HEAL_REGIONS = ["us-central1", "us-east1"]
HEAL_CONFIG = f"""
[gpu]
metrics = ["NVIDIA_T4_GPUS"]
regions = {json.dumps(HEAL_REGIONS)}

[c3]
regions = {json.dumps(HEAL_REGIONS)}
"""


def test_a_failed_cycle_shows_an_error_then_heals_back_to_normal(
    desktop: Desktop,  # noqa: F811
    make_emulator: Callable[..., Any],
    tmp_path: Path,
) -> None:
    """`run` against an emulator that refuses the project: 💥 on the icon and in one
    notification, never ✅; once the permission is granted the next cycle turns it ✅ with
    one "back to normal", and nobody clicked anything."""
    emulator = make_emulator(faults=["403"])
    app = DemoApp(
        desktop,
        tmp_path,
        *("--project", "proj-a", "--endpoint", emulator.url),
        *("--interval", "0.2", "--rewarm", "3"),
        command="run",
        config=HEAL_CONFIG,
    )
    try:
        app.icon()
        watch = IconWatch(desktop)
        watch.until(
            lambda: (
                app.alive() and app.lines("CACHE_WARM_INCOMPLETE") and watch.seen[-1:] == ["error"]
            ),
            START_TIMEOUT_S,
            "the refused cycle to show the error icon",
        )
        status = app.status()
        assert (status["level"], status["failed"]) == ("error", 4)
        assert "permission denied" in status["reasons"][0]
        wait_notifications(desktop, 1)
        emulator.clear_faults()  # the permission was granted
        watch.until(
            lambda: app.lines("CACHE_WARM_COMPLETE") and watch.seen[-1:] == ["complete"],
            30,
            "the healed cycle to show the complete icon",
        )
        assert "complete" not in watch.seen[: watch.seen.index("error")], watch.seen
        wait_notifications(desktop, 2)
        history = desktop.dunst_history()
        assert [summary for summary, _, _ in history] == [
            "💥 Quota warming failed",
            "✅ Back to normal",
        ], history
        assert "4 of 4 checks failed" in history[0][1] and "permission denied" in history[0][1]
        status = app.status()
        assert (status["level"], status["failed"]) == ("complete", 0)
        assert app.cli("quit").returncode == 0
        assert app.wait_exit() == 0, app.describe()
    finally:
        app.close()
    assert "Traceback" not in app.stderr(), app.stderr()


def test_no_tray_host_runs_headless(
    desktop_without_tray: Desktop,  # noqa: F811
    backend: str,
    tmp_path: Path,
) -> None:
    desk = desktop_without_tray
    app = DemoApp(
        desk, tmp_path, "--speed", "10", "--interval", "1", backend=backend, config=SLOW_CONFIG
    )
    try:
        app.wait_log("CACHE_WARM_COMPLETE")
        assert "CACHE_WARM_COMPLETE" in wait_for(
            lambda: "CACHE_WARM_COMPLETE" in app.stdout() and app.stdout(), 10, "progress on stdout"
        )
        quit_ = app.cli("quit")
        assert quit_.returncode == 0, quit_.stderr
        assert app.wait_exit() == 0, app.describe()
    finally:
        app.close()
    assert app.stderr().splitlines() == [
        f"quota-tray: no system tray on {desk.display}: nothing owns _NET_SYSTEM_TRAY_S0"
        " (no panel with a notification area is running); running headless"
    ]
    assert desk.docked_icons() == [] and desk.tray_panel() is None


# The answer in the running app: the Quotas submenu and a watch alert, on the GTK backend.
ANSWER_REGIONS = ["us-central1", "us-west1", "europe-west4", "us-east4"]
ANSWER_CONFIG = f"""
[gpu]
metrics = ["NVIDIA_T4_GPUS", "NVIDIA_L4_GPUS", "NVIDIA_A100_GPUS", "NVIDIA_H100_GPUS",
  "NVIDIA_H200_GPUS"]
regions = {json.dumps(ANSWER_REGIONS)}

[c3]
regions = {json.dumps(ANSWER_REGIONS)}

[[watch]]
metric = "H100"
min_free = 20
"""


def test_gtk_quotas_submenu_and_a_watch_alert(desktop: Desktop, tmp_path: Path) -> None:  # noqa: F811
    """After the first cycle: a "complete" notice naming the best region per GPU type, one
    watch alert, `status --json` listing the rule, and a Quotas submenu whose lines match the
    cache file and copy a region to the clipboard."""
    require_gtk()
    from trayapp import answers, cache
    from trayapp.ui.display import quota_lines
    from trayapp.watch import WatchRule, hits

    app = DemoApp(
        desktop, tmp_path, "--speed", "10", "--interval", "2", backend="gtk", config=ANSWER_CONFIG
    )
    try:
        app.icon()
        app.wait_log("CACHE_WARM_COMPLETE")
        path = Path(app.env["XDG_CACHE_HOME"]) / "quota-tray" / "demo" / cache.FILENAME
        snap = cache.load(path)
        # H100 comes from the emulated GPU family quota: a limit, usage unknown (≤ 24)
        [hit] = hits([WatchRule("NVIDIA_H100_GPUS", 20.0)], snap.checks())
        assert not hit.exact
        wait_notifications(desktop, 2)
        desktop.run("dunstctl", "close-all")  # into the history, read below
        status = json.loads(app.cli("status", "--json").stdout)
        assert [w["region"] for w in status["watch_met"][0]["met_in"]] == [hit.region]

        menu = open_menu(app)
        sections = wait_for(
            lambda: len(found := menu_sections(desktop, menu)) == 4 and found,
            5,
            "the menu to be drawn with its three separators",
        )
        top, bottom = sections[0]  # Rewarm now, the status line, Quotas, Requests
        row = (bottom - top) / 4
        desktop.click(menu.x + menu.width // 3, round(top + row * 2.5))
        sub = wait_for(
            lambda: [g for g in open_menu_windows(desktop) if g.x != menu.x],
            10,
            "the Quotas submenu to open",
        )[0]
        lines = [line for line in quota_lines(snap.doc) if not line.request]  # Quotas' own
        assert len(lines) == 6  # five GPU types and C3
        shot_box = (sub.x - 10, 0, SCREEN[0], max(menu.y + menu.height, sub.y + sub.height) + 10)
        desktop.save_doc_screenshot("menu-quotas.png", shot_box)
        index = [line.text.split(" · ")[0] for line in lines].index("H100")
        # the lines, a separator, the hint and "Ask for more quota"
        line_height = (sub.height - 2) / (len(lines) + 2.4)
        desktop.click(sub.x + sub.width // 3, round(sub.y + line_height * (index + 0.5)))
        wait_for(lambda: not open_menu_windows(desktop), 10, "the menu to close")
        assert lines[index].region == hit.region
        wait_for(
            lambda: desktop.selection_text("CLIPBOARD") == hit.region,
            10,
            "the H100 line to copy its best region",
        )

        history = desktop.dunst_history()
        titles = [summary for summary, _, _ in history]
        assert titles == [
            f"🎯 H100: a limit of {hit.free:g} in {hit.region} (usage unknown)",
            "✅ Quota cache warm",
        ]
        complete_body = next(body for summary, body, _ in history if summary.startswith("✅"))
        checks = snap.checks()
        assert complete_body.splitlines()[1:] == [
            answers.best_sentence(m, checks) for m in answers.metrics_in_order(checks, "gpu")
        ]
        assert app.cli("quit").returncode == 0
        assert app.wait_exit() == 0, app.describe()
    finally:
        app.close()
    assert "Traceback" not in app.stderr(), app.stderr()
