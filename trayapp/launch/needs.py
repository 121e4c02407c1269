"""What a launch consumes: every quota it needs, how much, and where the cache holds the answer.

A launch is refused when any one of its quotas is short, so the verdict needs them all. The
rules, each sourced in docs/sources.md ("What a launch consumes"):

- Compute VMs on-demand: the GPU quota (count x GPUs) and ``GPUS_ALL_REGIONS``; an N1 machine
  also ``CPUS`` and ``CPUS_ALL_REGIONS`` (count x vCPUs). A2, A3, A4 and G2 VMs need no CPU
  quota ("You don't need to request CPU quotas").
- Compute Spot: in a region where the preemptible quota is granted (the Spot check answers),
  that quota and only that; where it is not reported, the standard one. The same for N1 CPUs
  (``PREEMPTIBLE_CPUS``, else ``CPUS``); the global quotas as on-demand ("Like other VMs, Spot
  VMs require available CPU quotas").
- Vertex AI training: the tier's GPU quota; Spot also the preemptible training CPUs (count x
  vCPUs). Which CPU quota an on-demand job counts against is not documented: that ingredient
  has no place to read and stays unknown by name.
- Cloud Build private pools: the C3 build CPUs against count x the pool machine's vCPUs.
Standard library only.
"""

from __future__ import annotations

from dataclasses import dataclass

from trayapp.launch.shapes import POOL_MACHINES, Shape

SERVICES = ("compute", "vertex", "cloudbuild")
TIERS = ("on-demand", "spot")
REGION, GLOBAL = "region", "global"
CHECKS, LAUNCH_QUOTAS = "checks", "launch_quotas"  # the two lists of a project in the cache
VERTEX_SPOT_CPUS = "CUSTOM_MODEL_TRAINING_PREEMPTIBLE_CPUS"
VERTEX_CPUS = "training CPUs"  # on-demand: no document names the quota, so no metric name
NOT_DOCUMENTED = "no document says which quota"


@dataclass(frozen=True)
class Read:
    """One place in the cache that answers a quota."""

    quota: str  # the quota this place holds, as people read it: PREEMPTIBLE_CPUS
    place: str  # CHECKS or LAUNCH_QUOTAS
    kind: str  # gpu, c3, cpu, global, vertex_cpu
    metric: str | None  # the entry's metric; None: any (Cloud Build's one C3 check)
    service: str | None = None  # a check's service and tier must match, where given
    tier: str | None = None
    instead: bool = False  # read only where every read before it is not reported (Spot rule)


@dataclass(frozen=True)
class Need:
    """One quota a launch consumes: how much, and where its answer is."""

    quota: str
    service: str
    scope: str  # REGION or GLOBAL
    amount: float
    reads: tuple[Read, ...] = ()  # none: the quota is not documented, so it is unknown
    why_unknown: str = ""


@dataclass(frozen=True)
class Launch:
    """A shape started ``count`` times by one service, on one tier."""

    name: str
    shape: Shape
    count: int = 1
    service: str = "compute"
    tier: str = "on-demand"

    def __post_init__(self) -> None:
        _ingredients(self)  # a launch that cannot be judged is refused where it is named

    @property
    def label(self) -> str:
        """``a3-highgpu-8g x1``, or ``train (a3-highgpu-8g x2)`` when it has its own name."""
        shape = f"{self.shape.name} x{self.count}"
        return shape if self.name in ("", self.shape.name) else f"{self.name} ({shape})"


def ingredients(launch: Launch) -> list[Need]:
    """Every quota ``launch`` consumes, the regional GPU (or pool CPU) quota first."""
    return _ingredients(launch)


def _ingredients(launch: Launch) -> list[Need]:
    shape, count = launch.shape, launch.count
    if launch.service not in SERVICES:
        raise ValueError(f"unknown service {launch.service!r}: one of {', '.join(SERVICES)}")
    if launch.tier not in TIERS:
        raise ValueError(f"unknown tier {launch.tier!r}: one of {', '.join(TIERS)}")
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise ValueError(f"count must be a whole number of 1 or more, not {count!r}")
    if launch.service == "cloudbuild":
        return [_pool(launch)]
    if shape.gpu_metric is None:
        raise ValueError(f"{shape.name} is a Cloud Build pool machine: its service is cloudbuild")
    gpus, vcpus = count * shape.gpus, count * shape.vcpus
    if launch.service == "vertex":
        return _vertex(shape.gpu_metric, launch.tier, gpus, vcpus)
    return _compute(shape, launch.tier, gpus, vcpus)


def _compute(shape: Shape, tier: str, gpus: int, vcpus: int) -> list[Need]:
    metric = shape.gpu_metric or ""
    standard = (
        Read(metric, CHECKS, "gpu", metric, "compute", "on-demand"),
        Read(metric, LAUNCH_QUOTAS, "cpu", metric),
    )
    cpus = (Read("CPUS", LAUNCH_QUOTAS, "cpu", "CPUS"),)
    if tier == "spot":
        spot = f"PREEMPTIBLE_{metric}"
        reads = (Read(spot, CHECKS, "gpu", metric, "compute", "spot"), *_instead(standard))
        gpu = Need(spot, "compute", REGION, gpus, reads)
        preemptible = Read("PREEMPTIBLE_CPUS", LAUNCH_QUOTAS, "cpu", "PREEMPTIBLE_CPUS")
        cpu = Need("PREEMPTIBLE_CPUS", "compute", REGION, vcpus, (preemptible, *_instead(cpus)))
    else:
        gpu = Need(metric, "compute", REGION, gpus, standard)
        cpu = Need("CPUS", "compute", REGION, vcpus, cpus)
    needs = [gpu]
    if shape.consumes_cpu_quota:
        needs.append(cpu)
    needs.append(_global("GPUS_ALL_REGIONS", gpus))
    if shape.consumes_cpu_quota:
        needs.append(_global("CPUS_ALL_REGIONS", vcpus))
    return needs


def _vertex(metric: str, tier: str, gpus: int, vcpus: int) -> list[Need]:
    spot = tier == "spot"
    name = f"PREEMPTIBLE_{metric}" if spot else metric
    gpu = Need(name, "vertex", REGION, gpus, (Read(name, CHECKS, "gpu", metric, "vertex", tier),))
    if spot:
        read = Read(VERTEX_SPOT_CPUS, LAUNCH_QUOTAS, "vertex_cpu", VERTEX_SPOT_CPUS)
        return [gpu, Need(VERTEX_SPOT_CPUS, "vertex", REGION, vcpus, (read,))]
    return [gpu, Need(VERTEX_CPUS, "vertex", REGION, vcpus, (), NOT_DOCUMENTED)]


def _pool(launch: Launch) -> Need:
    shape = launch.shape
    if shape.family != "c3":
        machines = ", ".join(POOL_MACHINES)
        raise ValueError(f"Cloud Build private pools run {machines}; not {shape.name}")
    if launch.tier == "spot":
        raise ValueError("Cloud Build private pools have no Spot tier")
    read = Read("C3_CPUS", CHECKS, "c3", None, "cloudbuild")
    return Need("C3_CPUS", "cloudbuild", REGION, launch.count * shape.vcpus, (read,))


def _global(metric: str, amount: int) -> Need:
    return Need(metric, "compute", GLOBAL, amount, (Read(metric, LAUNCH_QUOTAS, "global", metric),))


def _instead(reads: tuple[Read, ...]) -> tuple[Read, ...]:
    return tuple(
        Read(r.quota, r.place, r.kind, r.metric, r.service, r.tier, instead=True) for r in reads
    )
