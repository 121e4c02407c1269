"""Batch statistics for FINAL_STATS and the status line."""

from __future__ import annotations

import math
from collections import deque
from typing import Any

from trayapp.warming.events import Event, WarmEvent
from trayapp.warming.levels import Level

_BATCH = (WarmEvent.BATCH_WARM, WarmEvent.BATCH_SLOW, WarmEvent.BATCH_FAIL)
_END = (WarmEvent.COMPLETE, WarmEvent.INCOMPLETE)  # a round of checks ended


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile of sorted ``values`` (q in 0..100)."""
    if not values:
        return 0.0
    rank = max(1, math.ceil(q / 100 * len(values)))
    return values[rank - 1]


class Metrics:
    """An observer counting what the warmer did; keeps the latest 10,000 batch times."""

    def __init__(self, keep: int = 10_000) -> None:
        self.batch_ms: deque[int] = deque(maxlen=keep)
        self.batches = 0
        self.slow = 0
        self.failed_batches = 0
        self.failed_checks = 0
        self.skipped = 0
        self.cycles = 0
        self.api_calls = 0
        self._last_doc: Any = None  # freshness is worked out once, for the summary

    def on_event(self, event: Event) -> None:
        if event.kind in _BATCH and event.elapsed_ms is not None:
            self.batches += 1
            self.batch_ms.append(event.elapsed_ms)
            if event.level is Level.SLOW:
                self.slow += 1
            if event.kind is WarmEvent.BATCH_FAIL:
                self.failed_batches += 1
            self.api_calls += int(event.data.get("api_calls", 0))
        elif event.kind is WarmEvent.SKIP:
            self.skipped += int(event.data.get("skipped", 0))
        elif event.kind in _END:
            self.cycles += 1
            self.failed_checks += int(event.data.get("failed", 0))
        if event.snapshot is not None and event.kind in (*_BATCH, *_END):
            self._last_doc = event.snapshot

    def coverage(self) -> dict[str, dict[str, float]]:
        """Share of fresh checks per project and kind, as of the latest batch."""
        from trayapp.cache import Snapshot

        if self._last_doc is None:
            return {}
        snap = Snapshot(dict(self._last_doc))
        return {p: snap.coverage(p) for p in snap.projects}

    def summary(self) -> dict[str, Any]:
        ordered = sorted(self.batch_ms)
        return {
            "batches": self.batches,
            "min_ms": ordered[0] if ordered else 0,
            "avg_ms": round(sum(ordered) / len(ordered)) if ordered else 0,
            "p50_ms": percentile(ordered, 50),
            "p95_ms": percentile(ordered, 95),
            "max_ms": ordered[-1] if ordered else 0,
            "slow": self.slow,
            "failed_batches": self.failed_batches,
            "failed_checks": self.failed_checks,
            "skipped": self.skipped,
            "cycles": self.cycles,
            "api_calls": self.api_calls,
            "fresh": {
                p: {k: round(v, 3) for k, v in cov.items()} for p, cov in self.coverage().items()
            },
        }
