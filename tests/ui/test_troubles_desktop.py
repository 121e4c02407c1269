"""Something that keeps failing (the cache writer, the history) is in the real tray's title
while it lasts and in one notification as it begins; the title is clean again once it ends.
(That the app finds such failures, and `status` says them: tests/control/test_troubles.py.)"""

from __future__ import annotations

import pytest
from desktop import desktop  # noqa: F401 - the fixture
from test_tray_desktop import TrayProcess, backend, tray  # noqa: F401

CACHE = "cannot write /home/u/.cache/quota-tray/quota-cache.json: No space left on device"


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
    assert "No space left on device" in later["title"]  # still there as events go on
    tray.cmd(cmd="troubles", shown=[CACHE], new=[])  # the same trouble again: no new notice
    ended = tray.cmd(cmd="troubles", shown=[], new=[])
    assert "No space" not in ended["title"] and "⚠" not in ended["title"]
    assert ended["posted"] == [["quota-tray: keeps failing", CACHE]]  # one notification
