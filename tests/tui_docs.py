"""Hand-written cache documents for the terminal view's tests, in the schema the warmer writes."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from typing import Any


def iso(seconds_ago: float = 0.0) -> str:
    return (datetime.now(UTC) - timedelta(seconds=seconds_ago)).isoformat(timespec="milliseconds")


def check(
    region: str,
    metric: str,
    status: str = "ok",
    limit: float | None = 8.0,
    usage: float | None = 2.0,
    *,
    age: float | None = 5.0,
    error: str | None = None,
    kind: str | None = None,
    source: str = "compute",
) -> dict[str, Any]:
    if status in ("pending", "error"):
        limit = usage = None
    if status == "absent":
        limit = usage = 0.0
    return {
        "kind": kind or ("c3" if metric.startswith("C3") else "gpu"),
        "region": region,
        "metric": metric,
        "status": status,
        "limit": limit,
        "usage": usage,
        "fetched_at": None if age is None or status in ("pending", "error") else iso(age),
        "error": error,
        "source": source,
    }


def doc(
    checks: list[dict[str, Any]],
    *,
    project: str = "p",
    pid: int | None = None,
    level: str | None = "fire",
    last_batch_ms: int | None = 812,
    paused: bool = False,
    done: int | None = None,
    total: int | None = None,
    completed: bool = False,
    failed: int | None = None,
) -> dict[str, Any]:
    cycle: dict[str, Any] = {
        "id": 1,
        "started_at": iso(60),
        "completed_at": iso(1) if completed else None,
        "done": len(checks) if done is None else done,
        "total": len(checks) if total is None else total,
    }
    if failed is not None:
        cycle["failed"] = failed
    return {
        "schema_version": 1,
        "written_at": iso(),
        "warmer": {
            "pid": dead_pid() if pid is None else pid,
            "level": level,
            "last_batch_ms": last_batch_ms,
            "paused": paused,
        },
        "projects": {project: {"cycle": cycle, "checks": checks}},
    }


_DEAD: list[int] = []


def dead_pid() -> int:
    """The pid of a process that has exited and been reaped."""
    if not _DEAD:
        proc = subprocess.run(
            [sys.executable, "-c", "import os; print(os.getpid())"],
            check=True,
            capture_output=True,
            text=True,
        )
        _DEAD.append(int(proc.stdout))
    return _DEAD[0]


def sample_checks() -> list[dict[str, Any]]:
    """A bit of everything: reported, not reported, failed, pending, unknown usage, stale. As
    the warmer writes them: on-demand H100 only from the family quota, usage unknown."""
    return [
        check("us-central1", "NVIDIA_T4_GPUS", limit=8, usage=2),
        check("us-central1", "NVIDIA_H100_GPUS", limit=16, usage=None, source="cloudquotas"),
        check("us-west1", "NVIDIA_H100_GPUS", limit=8, usage=None, source="cloudquotas"),
        check("us-east1", "NVIDIA_H100_GPUS", "absent"),
        check("europe-west4", "NVIDIA_H100_GPUS", limit=32, usage=None, source="cloudquotas"),
        check("us-east1", "NVIDIA_T4_GPUS", "error", error="503 Service Unavailable"),
        check("us-west1", "NVIDIA_T4_GPUS", limit=4, usage=1, age=4000),
        check("us-central1", "C3_CPUS", limit=200, usage=24),
        check("asia-northeast1", "C3_CPUS", "pending"),
    ]
