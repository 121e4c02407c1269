"""What ``quota-tray stats`` and the chart read from the history: batch time percentiles, level
shares, failures and cycles in a time window. Read-only: a query never creates, changes or
repairs the file; that is the recorder's job. Standard library only.
"""

from __future__ import annotations

import contextlib
import math
import os
import sqlite3
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from trayapp.warming.metrics import percentile

LEVELS = ("fire", "warn", "slowish", "slow")
_BATCHES = "SELECT * FROM batches WHERE at BETWEEN ? AND ?"
_CYCLES = "SELECT * FROM cycles WHERE at BETWEEN ? AND ?"


class HistoryError(Exception):
    """No history to show: the file is missing or cannot be read."""

    def __init__(self, reason: str, message: str) -> None:
        self.reason = reason  # "missing" | "unreadable"
        super().__init__(message)


@dataclass
class Series:
    """What the chart draws: (at, ms, level, failed) per batch, and cycle marks."""

    batches: list[tuple[float, int, str | None, bool]] = field(default_factory=list)
    completes: list[float] = field(default_factory=list)
    errors: list[float] = field(default_factory=list)
    since_s: float | None = None


def _open(path: str | os.PathLike[str]) -> sqlite3.Connection:
    target = Path(path)
    if not target.is_file():
        raise HistoryError("missing", f"no history yet: {target}")
    try:
        conn = sqlite3.connect(f"{target.resolve().as_uri()}?mode=ro", uri=True, timeout=5)
        conn.row_factory = sqlite3.Row
        conn.execute("SELECT (SELECT 1 FROM batches), (SELECT 1 FROM cycles)")
    except sqlite3.Error as exc:
        raise HistoryError("unreadable", f"history cannot be read: {target} ({exc})") from None
    return conn


def _window(since_s: float | None, now: float | None) -> tuple[float, float]:
    """(start, end) for ``at BETWEEN``; the whole history has no end (clocks move)."""
    now = time.time() if now is None else now
    return (now - since_s, now) if since_s is not None else (0.0, math.inf)


def series(path: str | os.PathLike[str], since_s: float | None, now: float | None = None) -> Series:
    """Batch times and cycle marks in time order, for :func:`trayapp.ui.plot.draw_chart`."""
    with contextlib.closing(_open(path)) as conn:
        span = _window(since_s, now)
        batches = conn.execute(f"{_BATCHES} AND elapsed_ms IS NOT NULL ORDER BY at", span)
        ends = "('complete', 'incomplete', 'error')"
        marks = conn.execute(f"{_CYCLES} AND kind IN {ends} ORDER BY at", span)
        out = Series(since_s=since_s)
        out.batches = [(b["at"], b["elapsed_ms"], b["level"], b["failed"] > 0) for b in batches]
        for m in marks:
            (out.completes if m["kind"] == "complete" else out.errors).append(m["at"])
    return out


def stats(path: str | os.PathLike[str], since_s: float | None, now: float | None = None) -> dict:
    """Batch time percentiles, level shares, failures, cycles and API calls in a window."""
    with contextlib.closing(_open(path)) as conn:
        span = _window(since_s, now)
        batches = conn.execute(_BATCHES, span).fetchall()
        cycles = conn.execute(f"{_CYCLES} ORDER BY at", span).fetchall()
    ms = sorted(b["elapsed_ms"] for b in batches if b["elapsed_ms"] is not None)
    levels = [b["level"] for b in batches if b["level"] in LEVELS]
    failed = [b for b in batches if b["kind"] == "batch_fail"]
    done = [c for c in cycles if c["kind"] == "complete"]
    durations = sorted(c["duration_s"] for c in done if c["duration_s"] is not None)
    calls = [c["api_calls"] for c in done if c["api_calls"] is not None]
    return {
        "since": _iso(span[0]) if since_s is not None else None,
        "until": _iso(span[1] if since_s is not None else now or time.time()),
        "projects": sorted({p for r in (*batches, *cycles) for p in r["projects"].split(",") if p}),
        "batches": len(batches),
        "batch_ms": {"p50": percentile(ms, 50), "p95": percentile(ms, 95), "max": max(ms or [0])},
        "levels": {
            lv: round(levels.count(lv) / len(levels), 4) if levels else 0.0 for lv in LEVELS
        },
        "failed_batches": len(failed),
        "failures": _count(b["error_kind"] for b in failed),
        "errors": _count(c["error_kind"] for c in cycles if c["kind"] == "error"),
        "incomplete_cycles": sum(c["kind"] == "incomplete" for c in cycles),
        "rewarms": _count(c["reason"] for c in cycles if c["kind"] == "rewarm"),
        "api_calls": sum(b["api_calls"] or 0 for b in batches),
        "api_calls_per_cycle": round(sum(calls) / len(calls), 1) if calls else None,
        "cycle_s": {"p50": percentile(durations, 50), "max": max(durations or [0])},
        "cycles": [_cycle(c) for c in done],
    }


def _cycle(row: sqlite3.Row) -> dict[str, Any]:
    keys = ("cycle", "duration_s", "api_calls", "failed")
    return {"at": _iso(row["at"]), **{k: row[k] for k in keys}, "checks": row["total"]}


def _count(values: Any) -> dict[str, int]:
    out: dict[str, int] = {}
    for value in values:
        out[value or "unknown"] = out.get(value or "unknown", 0) + 1
    return dict(sorted(out.items(), key=lambda kv: (-kv[1], kv[0])))


def _iso(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).isoformat(timespec="seconds")
