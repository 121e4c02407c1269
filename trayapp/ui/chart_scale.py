"""The numbers behind the batch-time chart: tick steps, the trend line and the words around it.

Standard library only (Pillow draws in ``trayapp.ui.plot``); it imports ``trayapp.warming.metrics``.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from trayapp.warming.metrics import percentile

if TYPE_CHECKING:
    from trayapp import history

DAY = 86400.0
# time-axis steps, seconds: the first that keeps the labels apart is used
STEPS = (60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, DAY, 2 * DAY, 7 * DAY)


def nice(raw: float) -> float:
    """The 1-2-2.5-5 step at or above ``raw``."""
    base = 10 ** math.floor(math.log10(raw))
    return next(m * base for m in (1, 2, 2.5, 5, 10) if m * base >= raw)


def trend(points: list[Any], t0: float, t1: float, buckets: int) -> list[list[Any]]:
    """Median batch time per time slice, split where nothing ran for a tenth of the span."""
    slices: dict[int, list[float]] = {}
    buckets = max(buckets, 1)
    for at, value, *_ in points:
        slices.setdefault(int((at - t0) / (t1 - t0) * buckets), []).append(value)
    segments: list[list[Any]] = [[]]
    last = None
    for key in sorted(slices):
        at = t0 + (key + 0.5) * (t1 - t0) / buckets
        if last is not None and at - last > (t1 - t0) / 10:
            segments.append([])
        segments[-1].append((at, _median(slices[key])))
        last = at
    return segments


def _median(values: list[float]) -> float:
    ordered, mid = sorted(values), len(values) // 2
    return ordered[mid] if len(values) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def subtitle(ms: list[int], series: history.Series) -> str:
    """The line under the title: how many batches, how fast they were, cycles completed."""
    if not ms:
        return "no batches"
    p50, p95 = percentile(ms, 50), percentile(ms, 95)
    cycles = len(series.completes)
    return (
        f"{len(ms)} batches · p50 {p50:g} ms · p95 {p95:g} ms · max {ms[-1]:g} ms · "
        f"{cycles} cycle{'s' * (cycles != 1)} complete"
    )


def window_text(since_s: float | None) -> str:
    """``last 24h``-style words for a history window."""
    if since_s is None:
        return "all recorded history"
    for unit, size in (("d", DAY), ("h", 3600), ("m", 60)):
        if since_s >= (2 * size if unit == "d" else size) and since_s % size == 0:
            return f"last {since_s / size:g}{unit}"
    return f"last {since_s:g}s"
