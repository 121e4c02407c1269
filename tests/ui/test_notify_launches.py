"""The warming-complete notification names, per ``[[launch]]``, what fits (one line each, at
most three, then how many more), read from cache documents a real warm cycle wrote (emulator,
real clients); and on a real dunst. Without a launch it says what it said before."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from desktop import Desktop, desktop  # noqa: F401
from launch_docs import COMPUTE, COMPUTE_LINES, PLAIN, VERTEX, VERTEX_LINES, warmed_doc

from trayapp.ui.notices import NotificationPolicy
from trayapp.ui.notify import Notifier
from trayapp.warming.events import Event, Progress, WarmEvent
from trayapp.warming.levels import Level

DONE = Progress(4, 4, 1, 1)


def complete(doc: dict[str, Any]) -> Event:
    data = {"failed": 0, "duration_s": 3}
    return Event(WarmEvent.COMPLETE, 1, DONE, level=Level.COMPLETE, data=data, snapshot=doc)


def told(doc: dict[str, Any]) -> list[str]:
    [notice] = NotificationPolicy().decide(complete(doc))
    assert notice.title == "✅ Quota cache warm"
    return notice.message.splitlines()


def test_the_complete_notice_names_what_fits_per_launch(tmp_path, make_emulator):
    emulator = make_emulator()
    doc = warmed_doc(tmp_path / "launches", emulator, COMPUTE)
    plain = warmed_doc(tmp_path / "plain", emulator, PLAIN)
    assert told(plain) == ["5/5 checks warm in 3 s.", "T4: 8 free in us-central1"]
    assert told(doc) == ["5/5 checks warm in 3 s.", *COMPUTE_LINES, "T4: 8 free in us-central1"]


def test_fits_only_on_a_limit_is_said_so(tmp_path, make_emulator):
    doc = warmed_doc(tmp_path / "home", make_emulator(), VERTEX)
    assert told(doc)[1] == VERTEX_LINES[0]
    assert not any("fits in" in line for line in told(doc))


def test_many_launches_are_capped(tmp_path, make_emulator):
    more = "".join(
        f'[[launch]]\nname = "box{n}"\nshape = "n1-standard-8+4xT4"\ncount = {n}\n'
        for n in range(1, 4)
    )
    doc = warmed_doc(tmp_path / "home", make_emulator(), COMPUTE + more)
    lines = told(doc)
    assert lines[1:4] == [*COMPUTE_LINES, "box1 (n1-standard-8+4xT4 x1): fits in us-central1"]
    assert lines[4:] == ["and 2 more launches", "T4: 8 free in us-central1"]


@pytest.fixture
def notifier() -> Iterator[Notifier]:
    notifier = Notifier(display_timeout_s=30, send_timeout_s=3)
    notifier.start()
    yield notifier
    assert notifier.stop(5)


@pytest.mark.desktop
def test_the_launches_and_a_launch_watch_reach_dunst(
    desktop: Desktop,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    notifier: Notifier,
    tmp_path,
    make_emulator,
) -> None:
    from trayapp.ui.notices import watch_notice
    from trayapp.watch import WatchAlerts, WatchRule

    doc = warmed_doc(tmp_path / "home", make_emulator(), COMPUTE)
    desktop.activate(monkeypatch)
    alerts = WatchAlerts([WatchRule("", 0.0, launch="t4box")])
    alerts.listeners.append(lambda groups: notifier.post(*map(watch_notice, groups)))
    notifier.on_event(Event(WarmEvent.START, 1, Progress(0, 4, 0, 1)))
    alerts.on_event(complete(doc))
    notifier.on_event(complete(doc))
    assert notifier.wait_idle(10)
    assert notifier.sent == 2, notifier.unavailable_reason
    body = "\n".join(["5/5 checks warm in 3 s.", *COMPUTE_LINES, "T4: 8 free in us-central1"])
    assert desktop.dunst_history()[:2] == [
        (
            "🎯 t4box (n1-standard-8+4xT4 x2) fits in us-central1",
            "fits in us-central1\nWatching for t4box (n1-standard-8+4xT4 x2).",
            "quota-tray",
        ),
        ("✅ Quota cache warm", body, "quota-tray"),
    ]
