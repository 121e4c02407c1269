"""GPU family quota: which family a configured metric belongs to, and which entry applies.

Cloud Quotas answers H100-class GPUs (which ``regions.get`` does not report) with one QuotaInfo,
``GPUS-PER-GPU-FAMILY-per-project-region``, whose entries each carry a dimensions map
(``region``, ``gpu_family``) and a limit. Standard library only: the warmer uses this.

A check names its GPU as ``NVIDIA_<X>_GPUS`` whatever its tier. On-demand checks read
``GPUS-PER-GPU-FAMILY-per-project-region`` (by ID; the list, matched by metric, when the ID is
not served); Spot checks read the preemptible family quota, metric
``compute.googleapis.com/preemptible_gpus_per_gpu_family``, found in the list by that metric
(its ID is not documented). Which entry applies is the one rule of ``quota_rule``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from trayapp.sources import quota_rule
from trayapp.sources.quota_rule import QuotaRequest

QUOTA_ID = "GPUS-PER-GPU-FAMILY-per-project-region"
SERVICE = "compute.googleapis.com"
METRIC = f"{SERVICE}/gpus_per_gpu_family"
SPOT_METRIC = f"{SERVICE}/preemptible_gpus_per_gpu_family"
SOURCE_COMPUTE = "compute"
SOURCE_CLOUDQUOTAS = "cloudquotas"

# One entry of the QuotaInfo: (dimensions, limit[, locations]). Plain values: crosses processes.
FamilyEntry = tuple[dict[str, str], float]
FamilyQuotas = list[FamilyEntry]

_ON_DEMAND = re.compile(r"NVIDIA_([A-Z0-9]+(?:_[A-Z0-9]+)*)_GPUS")


def quota_info_name(project: str) -> str:
    """The resource name ``get_quota_info`` asks for."""
    return f"projects/{project}/locations/global/services/{SERVICE}/quotaInfos/{QUOTA_ID}"


def family_of(metric: str) -> str | None:
    """``NVIDIA_H100_GPUS`` -> ``NVIDIA_H100``; None for any other metric (C3, PREEMPTIBLE_...)."""
    found = _ON_DEMAND.fullmatch(metric)
    return f"NVIDIA_{found.group(1)}" if found else None


def request(spot: bool = False) -> QuotaRequest:
    """The family QuotaInfo a tier reads."""
    return (
        QuotaRequest(SERVICE, None, SPOT_METRIC)
        if spot
        else QuotaRequest(SERVICE, QUOTA_ID, METRIC)
    )


def resolve(entries: Sequence[Sequence[object]], region: str, family: str) -> float | None:
    """The limit in effect for ``family`` in ``region`` (region and family beat region only,
    which beats family only, which beats the catch-all), by the one rule of ``quota_rule``:
    None when no entry applies, ``UNLIMITED`` for a negative value."""
    return quota_rule.resolve(entries, region, {"gpu_family": family})
