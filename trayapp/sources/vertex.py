"""Vertex AI custom training GPU quota: which QuotaInfo a GPU check reads.

Cloud Quotas IDs are ``CustomModelTraining<X>PerProjectPerRegion`` (on-demand) and
``CustomModelTrainingPreemptible<X>PerProjectPerRegion`` (Spot), X from the GPU name
(``NVIDIA_A100_80GB_GPUS`` -> ``A10080GBGPUs``): the spelling of Google's own Vertex AI samples
(``get_quota_id``, which gives the Preemptible IDs to Dynamic Workload Scheduler training; Spot
reading them is the original design's observation: docs/sources.md). When an ID is not
served, the list is matched by metric,
``aiplatform.googleapis.com/custom_model_training_[preemptible_]nvidia_<x>_gpus``. One
QuotaInfo answers every region of one GPU type and tier. Standard library only.
"""

from __future__ import annotations

import re

from trayapp.sources.quota_rule import QuotaRequest

SERVICE = "aiplatform.googleapis.com"
_GPU = re.compile(r"NVIDIA_([A-Z0-9]+(?:_[A-Z0-9]+)*)_GPUS")


def gpu_model(metric: str) -> str | None:
    """``NVIDIA_A100_80GB_GPUS`` -> ``A100_80GB``; None for anything else."""
    found = _GPU.fullmatch(metric)
    return found.group(1) if found else None


def _model(metric: str) -> str:
    model = gpu_model(metric)
    if model is None:
        raise ValueError(f"{metric!r} is not an NVIDIA_<X>_GPUS name")
    return model


def quota_id(metric: str, spot: bool) -> str:
    """``NVIDIA_T4_GPUS``, Spot -> ``CustomModelTrainingPreemptibleT4GPUsPerProjectPerRegion``."""
    model = _model(metric)
    tier = "Preemptible" if spot else ""
    return f"CustomModelTraining{tier}{model.replace('_', '')}GPUsPerProjectPerRegion"


def quota_metric(metric: str, spot: bool) -> str:
    """``NVIDIA_T4_GPUS`` -> ``aiplatform.googleapis.com/custom_model_training_nvidia_t4_gpus``."""
    model = _model(metric)
    tier = "preemptible_" if spot else ""
    return f"{SERVICE}/custom_model_training_{tier}nvidia_{model.lower()}_gpus"


# The Spot training CPUs a job's machine consumes, whatever its family (docs/sources.md); the
# on-demand training CPU quota's ID is documented nowhere, so it is not read.
CPUS = "CUSTOM_MODEL_TRAINING_PREEMPTIBLE_CPUS"  # the checks' name for it
SPOT_CPUS = QuotaRequest(
    SERVICE,
    "CustomModelTrainingPreemptibleCPUsPerProjectPerRegion",
    f"{SERVICE}/custom_model_training_preemptible_cpus",
)


def request(metric: str, spot: bool) -> QuotaRequest:
    if metric == CPUS:
        if not spot:
            raise ValueError("the on-demand training CPU quota is not documented")
        return SPOT_CPUS
    return QuotaRequest(SERVICE, quota_id(metric, spot), quota_metric(metric, spot))
