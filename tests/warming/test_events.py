"""The event bus never silences an observer that keeps failing: it logs every failure (the
first with its traceback), says which observers fail right now, and forgets one that works."""

from __future__ import annotations

import logging

from trayapp.warming.events import Event, EventBus, Progress, WarmEvent


def event(kind=WarmEvent.BATCH_WARM):
    return Event(kind, 1, Progress(0, 20, 0, 18))


class Flaky:
    def __init__(self):
        self.broken = True
        self.seen = 0

    def on_event(self, e):
        self.seen += 1
        if self.broken:
            raise OSError(28, "No space left on device")


def test_a_persistently_failing_observer_stays_visible_and_logged(caplog):
    flaky, good = Flaky(), []
    bus = EventBus(clock=lambda: 0.0)
    bus.subscribe(flaky)
    bus.subscribe(type("Good", (), {"on_event": lambda self, e: good.append(e.kind)})())
    caplog.set_level(logging.WARNING, logger="trayapp.warming.events")
    for _ in range(5):
        bus.emit(event())
    assert len(good) == 5 and flaky.seen == 5
    records = [r for r in caplog.records if r.name == "trayapp.warming.events"]
    assert len(records) == 5  # none dropped: the log's own rate limit decides what is written
    assert records[0].exc_info is not None and "Flaky failed on BATCH_WARM" in records[0].msg % (
        records[0].args
    )
    assert "still failing (5 times" in records[-1].getMessage()
    (line,) = bus.failing()
    assert line.startswith("Flaky failed 5 times since ")
    assert line.endswith("OSError: [Errno 28] No space left on device")

    flaky.broken = False
    bus.emit(event())
    assert bus.failing() == []
    assert "Flaky works again after 5 failures" in caplog.records[-1].getMessage()
