"""Cache entries written by hand for the launch verdict tests: each value chosen so that one
quota in turn is the one that blocks, and every expected number worked out from them by hand."""

from __future__ import annotations

from datetime import UTC, datetime

from trayapp.launch.needs import Launch
from trayapp.launch.shapes import parse_shape

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC).timestamp()
FRESH = "2026-12-07T11:58:00.000+00:00"  # 2 min before NOW
OLD = "2026-12-07T09:00:00.000+00:00"  # 3 h before NOW
MAX_AGE = 1800.0


def entry(kind, region, metric, limit, usage, **more):
    """An entry as the cache holds it: ``checks`` and ``launch_quotas`` alike."""
    status = more.pop("status", "ok")
    return {
        "kind": kind,
        "region": region,
        "metric": metric,
        "status": status,
        "limit": limit,
        "usage": usage,
        "fetched_at": more.pop("fetched_at", FRESH),
        "error": more.pop("error", None),
        "source": "compute" if usage is not None else "cloudquotas",
        "service": more.pop("service", "compute"),
        "tier": more.pop("tier", "on-demand"),
        "quota_id": None,
        "quota_metric": None,
        **more,
    }


def launch(shape, count=1, service="compute", tier="on-demand"):
    return Launch(shape, parse_shape(shape), count, service, tier)


def table(verdicts):
    """(region, verdict, blocked_by, unknown) per region, in the order given."""
    return [(v.region, v.verdict, v.blocked_by, v.unknown) for v in verdicts]


A2_CHECKS = [
    entry("gpu", "us-central1", "NVIDIA_A100_GPUS", 8, 4),  # 4 free: short of 8
    entry("gpu", "us-east4", "NVIDIA_A100_GPUS", 16, 0),  # 16 free
    entry("gpu", "europe-west4", "NVIDIA_A100_GPUS", 8, None),  # the family limit only
    entry("c3", "us-east4", "C3_CPUS", 176, 0),  # not this launch's
]


def globals_(gpus=(32, 0), cpus=(1000, 0)):
    return [
        entry("global", None, "GPUS_ALL_REGIONS", *gpus),
        entry("global", None, "CPUS_ALL_REGIONS", *cpus),
    ]
