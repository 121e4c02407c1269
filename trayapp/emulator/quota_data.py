"""The QuotaInfos the emulator serves, per service, in the shape cloudquotas.googleapis.com uses.

Deterministic and the same for every project. Each service's list carries decoys (quotas that
must never count) and, among them, the entries of the one a check reads: region entries over a
catch-all whose ``applicableLocations`` limit where the service offers the quota, an unlimited
(-1) entry, and for Cloud Build a decoy ``build_origin``. Standard library only.
"""

from __future__ import annotations


def _regions(text: str) -> tuple[str, ...]:
    return tuple(text.split())


# The regions the emulator answers for; any other region gets a 404 like a misspelt one. The
# emulator's own list, written out here rather than taken from the warmer's defaults, so it
# stays an independent stand-in for Google: a region the warmer asks for and Google would not
# know is a 404 here too.
KNOWN_REGIONS = _regions(
    "us-central1 us-east1 us-east4 us-east5 us-west1 us-west2 us-west3 us-west4 "
    "northamerica-northeast1 europe-west1 europe-west2 europe-west3 europe-west4 europe-west9 "
    "asia-northeast1 asia-southeast1 australia-southeast1 southamerica-east1 "
    "asia-east1 asia-south1 europe-north1 me-west1"
)

COMPUTE = "compute.googleapis.com"
AIPLATFORM = "aiplatform.googleapis.com"
CLOUDBUILD = "cloudbuild.googleapis.com"
# Fault target per service: ``503@aiplatform``, ``403:SERVICE_DISABLED@cloudbuild``.
TARGETS = {COMPUTE: "cloudquotas", AIPLATFORM: "aiplatform", CLOUDBUILD: "cloudbuild"}

# One QuotaInfo: (quotaId, metric, dimension names, [(dimensions, value, locations)]).
Entry = tuple[dict[str, str], int, tuple[str, ...]]
Info = tuple[str, str, tuple[str, ...], list[Entry]]


def _entry(dimensions: dict[str, str], value: int, where: tuple[str, ...] = ()) -> Entry:
    """An entry; a region entry applies to its region, others to ``where`` (default: all)."""
    if "region" in dimensions:
        return (dimensions, value, (dimensions["region"],))
    return (dimensions, value, where or KNOWN_REGIONS)


# Vertex AI training, per GPU model: catch-all value, where it is offered, region values.
# Spot (preemptible) doubles every value. L4 in us-east1 is unlimited; H200 is not offered in
# us-east1 or us-west1; B200 is offered on-demand only; H100 Mega's ID is spelt otherwise
# than the samples' rule, so only the list (matched by metric) finds it.
VERTEX_GPUS: dict[str, tuple[int, tuple[str, ...], dict[str, int]]] = {
    "T4": (4, KNOWN_REGIONS, {"us-central1": 16, "europe-west4": 8}),
    "L4": (8, KNOWN_REGIONS, {"us-east1": -1}),
    "A100": (
        0,
        _regions("us-central1 us-east1 us-west1 europe-west4 asia-southeast1"),
        {"us-central1": 16},
    ),
    "A100_80GB": (0, _regions("us-central1 europe-west4"), {"europe-west4": 8}),
    "H100": (
        8,
        _regions("us-central1 us-east1 us-west1 europe-west4 asia-southeast1"),
        {"us-central1": 16, "europe-west4": 24},
    ),
    "H100_MEGA": (0, _regions("us-central1 europe-west4"), {"us-central1": 8}),
    "H200": (0, _regions("us-central1 europe-west4"), {"us-central1": 16, "europe-west4": 8}),
    "B200": (0, _regions("us-central1"), {"us-central1": 8}),
}
VERTEX_ON_DEMAND_ONLY = ("B200",)
VERTEX_ODD_IDS = {"H100_MEGA": "H100Mega"}  # the ID's spelling, unlike the samples' rule


def _vertex(spot: bool) -> list[Info]:
    infos: list[Info] = []
    tier, word = ("Preemptible", "preemptible_") if spot else ("", "")
    for model, (default, offered, regions) in VERTEX_GPUS.items():
        if spot and model in VERTEX_ON_DEMAND_ONLY:
            continue
        scale = 2 if spot else 1
        entries = [_entry({}, default * scale, offered)]
        entries += [_entry({"region": r}, v * scale if v > 0 else v) for r, v in regions.items()]
        token = VERTEX_ODD_IDS.get(model, model.replace("_", ""))
        infos.append(
            (
                f"CustomModelTraining{tier}{token}GPUsPerProjectPerRegion",
                f"{AIPLATFORM}/custom_model_training_{word}nvidia_{model.lower()}_gpus",
                ("region",),
                entries,
            )
        )
    return infos


# Vertex AI Spot training CPUs: one QuotaInfo for every machine family, 1 by default (as on a
# new project), room for an 8-GPU machine in us-central1, less in europe-west4 and us-east1.
VERTEX_SPOT_CPUS = {"us-central1": 448, "europe-west4": 96, "us-east1": 48}


def _vertex_cpus() -> Info:
    entries = [_entry({}, 1)] + [_entry({"region": r}, v) for r, v in VERTEX_SPOT_CPUS.items()]
    return (
        "CustomModelTrainingPreemptibleCPUsPerProjectPerRegion",
        f"{AIPLATFORM}/custom_model_training_preemptible_cpus",
        ("region",),
        entries,
    )


def _vertex_decoys() -> list[Info]:
    """Serving quotas for the same GPUs: other limits, never to be read for training."""
    return [
        (
            f"CustomModelServing{model.replace('_', '')}GPUsPerProjectPerRegion",
            f"{AIPLATFORM}/custom_model_serving_nvidia_{model.lower()}_gpus",
            ("region",),
            [_entry({}, 999)],
        )
        for model in ("T4", "L4", "A100", "H100", "H200")
    ]


# Cloud Build private pool C3 CPUs, build_origin=default counts: us-central1 and europe-west4
# hold a c3-standard-176 pool, us-west2 is unlimited, asia-northeast1 has 8, us-east4's big
# entry is for another origin (44 counts), southamerica-east1 is not offered; elsewhere 44.
C3_OFFERED = tuple(r for r in KNOWN_REGIONS if r != "southamerica-east1")
C3_ENTRIES: list[Entry] = [
    _entry({}, 24, C3_OFFERED),
    _entry({"build_origin": "trigger"}, 1000, C3_OFFERED),
    _entry({"build_origin": "default"}, 44, C3_OFFERED),
    _entry({"region": "us-central1"}, 88),
    _entry({"region": "us-central1", "build_origin": "default"}, 176),
    _entry({"region": "europe-west4"}, 176),
    _entry({"region": "us-east4", "build_origin": "trigger"}, 500),
    _entry({"region": "us-west2", "build_origin": "default"}, -1),
    _entry({"region": "asia-northeast1", "build_origin": "default"}, 8),
]


def _cloudbuild() -> list[Info]:
    decoys = [
        ("ConcurrentPrivatePoolBuildCpus", "concurrent_private_pool_build_cpus", 2000),
        ("ConcurrentPrivatePoolE2BuildCpus", "concurrent_private_pool_e2_build_cpus", 1500),
        ("ConcurrentBuilds", "concurrent_builds", 30),
        ("ConcurrentPrivatePoolN2dBuildCpus", "concurrent_private_pool_n2d_build_cpus", 900),
    ]
    infos: list[Info] = [
        (qid, f"{CLOUDBUILD}/{metric}", ("region", "build_origin"), [_entry({}, value)])
        for qid, metric, value in decoys
    ]
    infos.append(
        (
            "ConcurrentPrivatePoolC3BuildCpusPerProjectPerRegion",
            f"{CLOUDBUILD}/concurrent_private_pool_c3_build_cpus",
            ("region", "build_origin"),
            list(C3_ENTRIES),
        )
    )
    return infos


# The Compute preemptible GPU family quota (found by its metric; its ID is not documented).
SPOT_FAMILY: list[Entry] = [
    _entry({"gpu_family": "NVIDIA_H100"}, 16),
    _entry({"gpu_family": "NVIDIA_H200"}, 16, _regions("us-central1 europe-west1 europe-west4")),
    _entry({"region": "us-central1", "gpu_family": "NVIDIA_H200"}, 32),
    _entry({"region": "europe-west4", "gpu_family": "NVIDIA_H100_MEGA"}, 16),
]


# Whether a quota may be raised (``quotaIncreaseEligibility``, ``isFixed``), by quota ID: every
# quota may be, but Vertex AI B200 training GPUs and Compute A100 GPUs (too little usage
# history, as Google says of new projects) and on-demand H100 Mega training GPUs (fixed).
INELIGIBLE = {
    "CustomModelTrainingB200GPUsPerProjectPerRegion": "NOT_ENOUGH_USAGE_HISTORY",
    "NVIDIA-A100-GPUS-per-project-region": "NOT_ENOUGH_USAGE_HISTORY",
}
FIXED = ("CustomModelTrainingH100MegaGPUsPerProjectPerRegion",)


def eligibility(quota_id: str) -> dict[str, object]:
    """The ``quotaIncreaseEligibility`` of a quota, in proto3 JSON (a default enum is left out)."""
    if quota_id in FIXED:
        return {"isEligible": False, "ineligibilityReason": "NOT_SUPPORTED"}
    if quota_id in INELIGIBLE:
        return {"isEligible": False, "ineligibilityReason": INELIGIBLE[quota_id]}
    return {"isEligible": True}


def service_infos(service: str, family: Info) -> list[Info]:
    """Every QuotaInfo of ``service`` in list order (decoys first, so the wanted one is on a
    later page); ``family`` is the on-demand GPU family quota as the emulator serves it."""
    if service == AIPLATFORM:
        return [*_vertex_decoys(), *_vertex(False), *_vertex(True), _vertex_cpus()]
    if service == CLOUDBUILD:
        return _cloudbuild()
    if service == COMPUTE:
        return [
            ("CPUS-per-project-region", f"{COMPUTE}/cpus", ("region",), [_entry({}, 24)]),
            family,
            (
                "PREEMPTIBLE-GPUS-PER-GPU-FAMILY-per-project-region",
                f"{COMPUTE}/preemptible_gpus_per_gpu_family",
                ("region", "gpu_family"),
                list(SPOT_FAMILY),
            ),
        ]
    return []
