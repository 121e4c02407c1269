"""What the Compute API emulator answers: regions, their quotas, and the region JSON.

Deterministic in (project, region, metric). Standard library only.
"""

from __future__ import annotations

import hashlib
import random
import re
from typing import Any

from trayapp.emulator import quotas
from trayapp.emulator.faults import REGIONS_TARGET
from trayapp.emulator.quota_data import KNOWN_REGIONS

_ZONES = {"us-central1": "abcf", "us-east1": "bcd", "europe-west1": "bcd"}

# metric -> limit choices. Regions list ~45 metrics, GPU ones only where the GPU exists.
_LIMITS: dict[str, tuple[float, ...]] = {
    "CPUS": (24, 72, 96, 200, 500),
    "PREEMPTIBLE_CPUS": (0, 24, 200),
    "COMMITTED_CPUS": (0, 0, 32),
    **dict.fromkeys(("C2_CPUS", "C2D_CPUS", "C3D_CPUS", "N2_CPUS"), (0, 24, 48, 96, 200)),
    **dict.fromkeys(("N2D_CPUS", "A2_CPUS", "M1_CPUS", "E2_CPUS"), (0, 24, 48, 96)),
    "C3_CPUS": (0, 8, 24, 44, 88, 176),
    "DISKS_TOTAL_GB": (4096, 10240, 40960, 102400),
    "SSD_TOTAL_GB": (500, 2048, 10240),
    "LOCAL_SSD_TOTAL_GB": (3000, 6000, 9000),
    "PREEMPTIBLE_LOCAL_SSD_GB": (0, 3000),
    "IN_USE_ADDRESSES": (8, 16, 69, 100),
    "STATIC_ADDRESSES": (8, 21, 100),
    "INSTANCES": (6000,),
    "INSTANCE_GROUPS": (100,),
    "INSTANCE_GROUP_MANAGERS": (50,),
    "REGIONAL_INSTANCE_GROUP_MANAGERS": (50,),
    "AUTOSCALERS": (50,),
    "REGIONAL_AUTOSCALERS": (20,),
    "TARGET_POOLS": (50,),
    "NETWORK_ENDPOINT_GROUPS": (100,),
    "RESERVATIONS": (20,),
}
_GPUS = ("T4", "L4", "P4", "P100", "V100", "A100", "A100_80GB", "H100", "H100_MEGA", "H200")
for _gpu in _GPUS:
    _big = _gpu.startswith(("A100_80", "H"))
    _LIMITS[f"NVIDIA_{_gpu}_GPUS"] = (0, 0, 8, 16) if _big else (0, 1, 4, 8, 16)
    _LIMITS[f"PREEMPTIBLE_NVIDIA_{_gpu}_GPUS"] = (0, 4, 16, 64)
    _LIMITS[f"COMMITTED_NVIDIA_{_gpu}_GPUS"] = (0, 0, 8)
for _name in quotas.FAMILY_ONLY_METRICS:  # answered by the Cloud Quotas path, as live
    del _LIMITS[_name]
FAULT_TARGETS = (*KNOWN_REGIONS, REGIONS_TARGET, "project", "advice", "monitoring", *quotas.TARGETS)
# GPU model -> the regions that have it; models not listed exist everywhere but in _LACKING.
_ONLY_IN = {
    "P4": "us-central1 us-east4 us-west2 europe-west4 asia-southeast1",
    "P100": "us-central1 us-east1 us-west1 europe-west1 europe-west4",
    "V100": "us-central1 us-west1 europe-west4 asia-east1",
    "A100": "us-central1 us-east4 us-west1 us-west3 us-west4 europe-west4 asia-northeast1 "
    "asia-southeast1 me-west1",
    "A100_80GB": "us-central1 us-east4 us-east5 europe-west4",
    "H100": "us-central1 us-east4 us-east5 us-west1 europe-west1 europe-west4 asia-northeast1 "
    "asia-southeast1",
    "H100_MEGA": "us-central1 us-east4 europe-west4",
    "H200": "us-central1 europe-west1",
}
_LACKING = {"T4": "us-east5 europe-west9", "L4": "us-west2 southamerica-east1", "C3": "me-west1"}


def _present(metric: str, region: str) -> bool:
    model = re.fullmatch(r"(?:PREEMPTIBLE_|COMMITTED_)?NVIDIA_(\w+)_GPUS|(C3)_CPUS", metric)
    if model is None:
        return True
    name = model.group(1) or model.group(2)
    if name in _ONLY_IN:
        return region in _ONLY_IN[name].split()
    return region not in _LACKING.get(name, "").split()


def expected_quotas(project: str, region: str) -> dict[str, tuple[float, float]]:
    """Every quota the emulator serves for one region: metric -> (limit, usage).

    Deterministic in (project, region, metric); KeyError for a region the emulator does not
    know (it answers 404 for those).
    """
    if region not in KNOWN_REGIONS:
        raise KeyError(f"the emulator does not know region {region!r}")
    quotas = {}
    for metric, choices in _LIMITS.items():
        if not _present(metric, region):
            continue
        rng = random.Random(f"{project}/{region}/{metric}")
        limit = float(rng.choice(choices))
        usage = 0.0 if rng.random() < 0.4 else float(rng.randint(0, int(limit)))
        if metric.endswith("_GB") and 0 < usage < limit:
            usage -= 0.5  # storage usage is not always whole gigabytes
        quotas[metric] = (limit, usage)
    return quotas


def metric_infos(project: str) -> list[tuple[str, str, tuple[str, ...], list[Any]]]:
    """Cloud Quotas' per-metric Compute QuotaInfos of the GPU and C3 quotas regions.get reports
    (``NVIDIA-T4-GPUS-per-project-region``, ``compute.googleapis.com/nvidia_t4_gpus``), a
    region entry where the region has it, with the same limits: what their eligibility is read
    from (see ``quota_data.eligibility``)."""
    wanted = [m for m in _LIMITS if m.endswith("_GPUS") and not m.startswith("COMMITTED_")]
    infos = []
    for metric in [*wanted, "C3_CPUS"]:
        entries = [
            ({"region": region}, int(expected_quotas(project, region)[metric][0]), (region,))
            for region in KNOWN_REGIONS
            if _present(metric, region)
        ]
        quota_id = f"{metric.replace('_', '-')}-per-project-region"
        infos.append((quota_id, f"compute.googleapis.com/{metric.lower()}", ("region",), entries))
    return infos


def _region_json(base: str, project: str, region: str, with_quotas: bool) -> dict[str, object]:
    number = int.from_bytes(hashlib.blake2b(region.encode(), digest_size=4).digest(), "big")
    prefix = f"{base}/compute/v1/projects/{project}"
    body: dict[str, object] = {
        "kind": "compute#region",
        "id": str(1000 + number % 9000),
        "creationTimestamp": "1969-12-31T16:00:00.000-08:00",
        "name": region,
        "description": region,
        "status": "UP",
        "zones": [f"{prefix}/zones/{region}-{z}" for z in _ZONES.get(region, "abc")],
        "selfLink": f"{prefix}/regions/{region}",
        "supportsPzs": False,
    }
    if with_quotas:
        body["quotas"] = [
            {"metric": m, "limit": lim, "usage": use}
            for m, (lim, use) in expected_quotas(project, region).items()
        ]
    else:
        body["quotaStatusWarning"] = {
            "code": "RESULT_INCOMPLETE",
            "message": "Quota information is temporarily unavailable for this region.",
            "data": [{"key": "region", "value": region}],
        }
    return body
