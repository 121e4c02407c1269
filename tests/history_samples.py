"""A history of known batches and cycles, written through the real recorder: the figures
`stats` and the chart must give for it are worked out by hand in the tests that use it."""

from __future__ import annotations

from trayapp.history import HistoryRecorder
from trayapp.warming.events import Event, Progress, WarmEvent
from trayapp.warming.levels import Level

NOW = 1_800_000_000.0
P = Progress(3, 20, 2, 18)
_KIND = {"fire": WarmEvent.BATCH_WARM}


def batch(at, ms, level="fire", *, cycle=1, fail=None, project="p1", calls=2):
    """A batch event as the warmer emits it (one GPU and one C3 check)."""
    checks = [f"gpu:{project}/us-central1/NVIDIA_T4_GPUS", f"c3:{project}/us-east1/C3_CPUS"]
    kind = WarmEvent.BATCH_FAIL if fail else _KIND.get(level, WarmEvent.BATCH_SLOW)
    return Event(
        kind,
        cycle,
        P,
        at=at,
        elapsed_ms=ms,
        level=Level(level),
        error_kind=fail,
        message=f"{fail}: boom" if fail else "",
        data={"checks": checks, "failed": checks[:1] if fail else [], "api_calls": calls},
    )


def complete(at, duration_s, calls=18, *, cycle=1, failed=0):
    data = {"failed": failed, "api_calls": calls, "duration_s": duration_s, "checks": 38}
    return Event(
        WarmEvent.COMPLETE, cycle, Progress(20, 20, 18, 18), at=at, level=Level.COMPLETE, data=data
    )


def record(path, events, **kw):
    """Run a recorder over ``events`` and wait until all are written."""
    rec = HistoryRecorder(path, kw.pop("label", "p1"), **kw).start()
    for event in events:
        rec.on_event(event)
    assert rec.stop(10)
    return rec


def known_history(path):
    """20 batches 100..2000 ms, levels 10/5/3/2, three failures, two cycles."""
    levels = ["fire"] * 10 + ["warn"] * 5 + ["slowish"] * 3 + ["slow"] * 2
    fails = {3: "rate_limited", 7: "rate_limited", 11: "timeout"}
    events = [
        batch(NOW - 600 + i, (i + 1) * 100, lv, fail=fails.get(i)) for i, lv in enumerate(levels)
    ]
    events += [complete(NOW - 500, 40.0, 18), complete(NOW - 300, 50.0, 20, cycle=2)]
    events += [batch(NOW - 7200, 9_999, "slow")]  # outside a 1-hour window
    events += [Event(WarmEvent.REWARM, 2, P, at=NOW - 400, data={"reason": "periodic"})]
    rec = HistoryRecorder(path, "p1").start()
    for event in events:
        rec.on_event(event)
    assert rec.stop(10)
