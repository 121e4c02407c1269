"""Which quota checks a warm cycle makes, and in what order."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import chain, zip_longest
from typing import Any

DEFAULT_GPU_METRICS = (
    "NVIDIA_T4_GPUS",
    "NVIDIA_L4_GPUS",
    "NVIDIA_A100_GPUS",
    "NVIDIA_H100_GPUS",
    "NVIDIA_H200_GPUS",
)
DEFAULT_GPU_REGIONS = ("us-central1", "us-east1", "us-west1", "europe-west4")
DEFAULT_C3_METRIC = "C3_CPUS"
DEFAULT_C3_REGIONS = (
    "us-central1",
    "us-east1",
    "us-east4",
    "us-east5",
    "us-west1",
    "us-west2",
    "us-west3",
    "us-west4",
    "northamerica-northeast1",
    "europe-west1",
    "europe-west2",
    "europe-west3",
    "europe-west4",
    "europe-west9",
    "asia-northeast1",
    "asia-southeast1",
    "australia-southeast1",
    "southamerica-east1",
)


GPU_SERVICES = ("compute", "vertex")
C3_SERVICES = ("compute", "cloudbuild")
TIERS = ("on-demand", "spot")
LAUNCH_KEYS = ("name", "shape", "count", "service", "tier")  # a launch in the cache file


@dataclass(frozen=True)
class QuotaCheck:
    """One quota question. ``metric`` is the GPU name (``NVIDIA_H100_GPUS``) or ``C3_CPUS``
    whatever the service; ``service`` and ``tier`` say which quota answers it."""

    kind: str  # "gpu" or "c3"; a launch's other quotas: "cpu", "global", "vertex_cpu"
    project: str
    region: str
    metric: str
    service: str = "compute"  # "compute" | "vertex" | "cloudbuild"
    tier: str = "on-demand"  # "on-demand" | "spot"


@dataclass(frozen=True)
class Plan:
    """The two queues of a cycle: one GPU and one C3 check are taken per tick."""

    gpu: tuple[QuotaCheck, ...]
    c3: tuple[QuotaCheck, ...]
    # what a launch consumes besides its GPUs: a region's CPU metrics (read from the answer
    # its GPU checks get), the project-wide quotas, Vertex AI Spot training CPUs
    extra: tuple[QuotaCheck, ...] = ()
    # the launches judged from these answers, (name, shape, count, service, tier): written in
    # the cache so that every reader judges the same ones
    launches: tuple[tuple[str, str, int, str, str], ...] = ()

    @property
    def projects(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(c.project for c in chain(self.gpu, self.c3)))

    @property
    def uses_compute(self) -> bool:
        """Whether any check reads Compute's regions.get (else no Compute call is made)."""
        return any(c.service == "compute" for c in chain(self.gpu, self.c3, self.extra))

    def __len__(self) -> int:
        return len(self.gpu) + len(self.c3)

    def of(self, kind: str) -> tuple[QuotaCheck, ...]:
        """The GPU checks (``gpu``) or the C3 checks (``c3``)."""
        return self.gpu if kind == "gpu" else self.c3


def _interleave(per_project: Sequence[Sequence[QuotaCheck]]) -> tuple[QuotaCheck, ...]:
    return tuple(c for group in zip_longest(*per_project) for c in group if c is not None)


def build_plan(
    projects: Sequence[str],
    gpu_metrics: Sequence[str] = DEFAULT_GPU_METRICS,
    gpu_regions: Sequence[str] = DEFAULT_GPU_REGIONS,
    c3_metric: str = DEFAULT_C3_METRIC,
    c3_regions: Sequence[str] = DEFAULT_C3_REGIONS,
    *,
    gpu_service: str = "compute",
    spot: bool = False,
    c3_service: str = "compute",
    extra: Sequence[tuple[str, str, str, str]] = (),
    launches: Sequence[tuple[str, str, int, str, str]] = (),
) -> Plan:
    """GPU checks go metric by metric, region by region; projects take turns. ``extra`` names
    a launch's other quotas as ``(kind, metric, service, tier)``: a ``global`` one once per
    project, the others in every GPU region."""
    if not projects:
        raise ValueError("at least one project is needed")
    if gpu_service not in GPU_SERVICES or c3_service not in C3_SERVICES:
        raise ValueError(f"unknown service {gpu_service!r} or {c3_service!r}")
    tier = "spot" if spot else "on-demand"
    gpu = [
        [QuotaCheck("gpu", p, r, m, gpu_service, tier) for m in gpu_metrics for r in gpu_regions]
        for p in projects
    ]
    c3 = [[QuotaCheck("c3", p, r, c3_metric, c3_service) for r in c3_regions] for p in projects]
    more = [
        QuotaCheck(kind, p, "global", metric, service, tier)
        if kind == "global"
        else QuotaCheck(kind, p, r, metric, service, tier)
        for p in projects
        for kind, metric, service, tier in dict.fromkeys(extra)
        for r in (("global",) if kind == "global" else gpu_regions)
    ]
    return Plan(
        gpu=_interleave(gpu),
        c3=_interleave(c3),
        extra=tuple(dict.fromkeys(more)),
        launches=tuple(dict.fromkeys(launches)),
    )


def service_keys(config: Mapping[str, Any]) -> dict[str, Any]:
    """Settings values from the ``service`` and ``spot`` keys of ``[gpu]`` and ``[c3]`` of a
    parsed config (checked by ``services_problem``)."""
    gpu, c3 = config.get("gpu") or {}, config.get("c3") or {}
    values = {f"{k}_service": t["service"] for k, t in (("gpu", gpu), ("c3", c3)) if "service" in t}
    return {**values, **({"spot": gpu["spot"]} if "spot" in gpu else {})}


def services_problem(settings: Any) -> str | None:
    """Why ``settings`` (gpu_service, spot, gpu_metrics, c3_service, c3_metric) do not make a
    plan, in one line, or None: a known service per kind; with Vertex AI or Spot a GPU is named
    ``NVIDIA_<X>_GPUS`` (the tier is ``spot``, not a metric prefix); Cloud Build private pools
    are ``C3_CPUS``."""
    from trayapp.sources.vertex import gpu_model

    s = settings
    for key, value, allowed in (
        ("gpu", s.gpu_service, GPU_SERVICES),
        ("c3", s.c3_service, C3_SERVICES),
    ):
        if value not in allowed:
            return f"{key}.service must be one of {', '.join(allowed)}, not {value!r}"
    if not isinstance(s.spot, bool):
        return "gpu.spot must be true or false"
    if s.gpu_service != "compute" or s.spot:
        what = 'gpu.service = "vertex"' if s.gpu_service != "compute" else "spot"
        for metric in s.gpu_metrics:
            if gpu_model(metric) is None:
                return f"gpu.metrics: with {what} name GPUs as NVIDIA_<X>_GPUS, not {metric!r}"
    if s.c3_service == "cloudbuild" and s.c3_metric != DEFAULT_C3_METRIC:
        return (
            f'c3.metric must be {DEFAULT_C3_METRIC} with c3.service = "cloudbuild", '
            f"not {s.c3_metric!r}"
        )
    return None
