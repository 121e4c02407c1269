"""Which quota metric names exist, so a typo in config.toml is caught instead of warmed forever.

The names come from the Compute v1 discovery document's ``Quota.metric`` enum, kept as package
data (``trayapp/data``). The enum lags behind new GPU types (no on-demand H100, no H200), so
any ``NVIDIA_<X>_GPUS`` name is accepted as well. Read only when a config names GPU metrics.
"""

from __future__ import annotations

import difflib
import functools
import re
from pathlib import Path

from trayapp.warming import plan

METRICS_FILE = Path(__file__).parents[1] / "data" / "compute-v1-quota-metrics-rev20261106.txt"
_GPU_FORM = re.compile(r"NVIDIA_[A-Z0-9]+(?:_[A-Z0-9]+)*_GPUS")


@functools.cache
def known_metrics() -> tuple[str, ...]:
    """The enum's names plus the GPU metrics warmed by default."""
    names = METRICS_FILE.read_text(encoding="utf-8").split()
    return tuple(dict.fromkeys([*plan.DEFAULT_GPU_METRICS, plan.DEFAULT_C3_METRIC, *names]))


def is_known(name: str) -> bool:
    return name in known_metrics() or _GPU_FORM.fullmatch(name) is not None


def closest(name: str, candidates: tuple[str, ...] | None = None) -> str | None:
    """The known name a typo most likely meant (``NVIDA_H100_GPUS``, ``H100`` ->
    ``NVIDIA_H100_GPUS``), from ``candidates`` or every known metric."""
    from trayapp.answers import short_name

    pool = candidates if candidates is not None else known_metrics()
    upper = name.strip().upper().replace("-", "_").replace(" ", "_")
    for guess in (upper, f"NVIDIA_{upper}_GPUS", f"{upper}_GPUS", f"{upper}_CPUS"):
        if guess in pool:
            return guess
    found = difflib.get_close_matches(upper, pool, n=1, cutoff=0.6)
    if found:
        return found[0]
    if candidates is None and "_" not in upper and _GPU_FORM.fullmatch(f"NVIDIA_{upper}_GPUS"):
        return f"NVIDIA_{upper}_GPUS"  # a GPU model alone: B200
    shorts = {short_name(m): m for m in reversed(pool)}  # the first name wins a short name
    found = difflib.get_close_matches(short_name(upper), list(shorts), n=1, cutoff=0.6)
    return shorts[found[0]] if found else None
