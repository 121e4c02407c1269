"""Something that keeps failing (the history, an observer) is in the real tray's title while
it lasts and in one notification as it begins; the title is clean again once it ends. A cache
file that cannot be written is said by the cycle it keeps from being complete.
(That the app finds such failures, and `status` says them: tests/control/test_troubles.py.)"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
from desktop import Desktop, desktop, stop_process, wait_for  # noqa: F401 - fixtures
from emulator_fixtures import *  # noqa: F403
from test_tray_desktop import TrayProcess, backend, tray  # noqa: F401

from trayapp.emulator.server import Emulator

CHILD = Path(__file__).resolve().parents[1] / "trouble_app_child.py"

CACHE = "history database busy: /home/u/.local/state/quota-tray/history.sqlite3 is locked"


@pytest.mark.desktop
def test_a_trouble_is_in_the_title_while_it_lasts_and_notified_once(tray: TrayProcess) -> None:  # noqa: F811
    tray.icon()
    before = tray.event("BATCH_WARM", done=15, elapsed_ms=812, level="fire")["title"]
    troubled = tray.cmd(cmd="troubles", shown=[CACHE], new=[CACHE])
    if troubled["backend"] == "gtk":
        assert troubled["title"] == f"{before} · ⚠️ {CACHE}"
    else:  # xorg: Latin-1, the emoji spelled out
        assert troubled["title"].startswith(before) and troubled["title"].endswith(CACHE)
    assert troubled["posted"] == [["quota-tray: keeps failing", CACHE]]

    later = tray.event("BATCH_WARM", done=16, elapsed_ms=700, level="fire")
    assert "is locked" in later["title"]  # still there as events go on
    tray.cmd(cmd="troubles", shown=[CACHE], new=[])  # the same trouble again: no new notice
    ended = tray.cmd(cmd="troubles", shown=[], new=[])
    assert "is locked" not in ended["title"] and "⚠" not in ended["title"]
    assert ended["posted"] == [["quota-tray: keeps failing", CACHE]]  # one notification


@pytest.mark.desktop
def test_the_app_tells_a_cache_it_cannot_write_in_one_notification(
    desktop: Desktop,  # noqa: F811
    emulator: Emulator,
    tmp_path: Path,
) -> None:
    """The real app: the cache file cannot be written (a folder took its place). The cycle is
    not complete: one "not written" notification saying where and why, and no other even once
    the failure has outlasted the trouble threshold."""
    path = tmp_path / "cache" / "quota-cache.json"
    path.mkdir(parents=True)
    log = tmp_path / "log" / "cache_warm.log"
    with (tmp_path / "app.err").open("wb") as err:
        app = subprocess.Popen(
            [sys.executable, str(CHILD), emulator.url, str(tmp_path), "1.0"],
            env={**desktop.env, "NO_GCE_CHECK": "true"},
            stdout=subprocess.DEVNULL,
            stderr=err,
            start_new_session=True,
        )
    try:
        wait_for(lambda: log.exists() and "CACHE_WARM_INCOMPLETE" in log.read_text(), 60, "a cycle")
        started = time.monotonic()
        wait_for(lambda: time.monotonic() - started > 3.0, 5, "the trouble threshold to pass")

        def ours() -> list[tuple[str, str, str]]:
            return [n for n in desktop.dunst_history() if n[0].startswith(("💥", "quota-tray"))]

        told = wait_for(ours, 30, "the 'not written' notification")
        assert [n[0] for n in told] == ["💥 Quota cache not written"], told
        assert f"cannot write {path}: Is a directory" in told[0][1]
        assert "CACHE_WARM_COMPLETE" not in log.read_text()
    finally:
        stop_process(app)
    assert "Traceback" not in (tmp_path / "app.err").read_text(errors="replace")
