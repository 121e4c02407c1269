"""GPU family quota: which family a configured metric belongs to, and which entry applies.

Cloud Quotas answers H100-class GPUs (which ``regions.get`` does not report) with one QuotaInfo,
``GPUS-PER-GPU-FAMILY-per-project-region``, whose entries each carry a dimensions map
(``region``, ``gpu_family``) and a limit. Standard library only: the warmer uses this.

Only on-demand ``NVIDIA_<X>_GPUS`` names map to a family. Google's Cloud Quotas documentation
names the quota and its ``region`` / ``gpu_family`` dimensions but says nothing of preemptible
(Spot) or committed GPUs, so ``PREEMPTIBLE_`` and ``COMMITTED_`` forms are left to regions.get.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

QUOTA_ID = "GPUS-PER-GPU-FAMILY-per-project-region"
SERVICE = "compute.googleapis.com"
SOURCE_COMPUTE = "compute"
SOURCE_CLOUDQUOTAS = "cloudquotas"

# One entry of the QuotaInfo: (dimensions, limit). Plain values, so it crosses processes.
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


def _rank(dimensions: Mapping[str, str], region: str, family: str) -> int | None:
    """How specific an entry is for (region, family): 3 region+family, 2 region, 1 family,
    0 catch-all; None when it does not apply (another region or family, or another key)."""
    if set(dimensions) - {"region", "gpu_family"}:
        return None
    if dimensions.get("region", region) != region:
        return None
    if dimensions.get("gpu_family", family) != family:
        return None
    return 2 * ("region" in dimensions) + ("gpu_family" in dimensions)


def resolve(entries: Sequence[FamilyEntry], region: str, family: str) -> float | None:
    """The limit in effect for ``family`` in ``region``: region and family beat region only,
    which beats family only, which beats the catch-all entry. None when no entry applies, or
    when the winning value is negative (Cloud Quotas' "unlimited"): no number to show."""
    best: tuple[int, float] | None = None
    for dimensions, limit in entries:
        rank = _rank(dimensions, region, family)
        if rank is not None and (best is None or rank > best[0]):
            best = (rank, limit)
    if best is None or best[1] < 0:
        return None
    return float(best[1])
