"""The one table of launch shapes: each machine type's GPU, GPU count and vCPUs, with its source.

A shape is named as a machine type (``a3-highgpu-8g``), as an N1 machine with GPUs attached
(``n1-standard-8+4xT4``, the vCPUs checked against the ranges Google documents per GPU count),
or as ``8xH100`` (the one machine type that holds that many of that GPU). Cloud Build private
pools run c3-standard machines of the sizes ``quota_names.POOL_VCPUS`` already names. Every
row's source is in docs/sources.md ("What a launch consumes"). Standard library only.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from trayapp.safety.text import clean_line
from trayapp.sources.quota_names import POOL_VCPUS
from trayapp.words import short_name

GPUS_URL = "https://cloud.google.com/compute/docs/gpus"
N1_URL = "https://cloud.google.com/compute/docs/machine-types"
CPU_QUOTA_URL = "https://cloud.google.com/compute/resource-usage"
POOL_URL = "https://cloud.google.com/build/docs/private-pools/private-pool-config-file-schema"

# Which families consume a Compute CPU quota. Google's "Allocation quotas" page: A2, A3, A4
# and G2 VMs need "only ... the required GPU quotas ... You don't need to request CPU quotas";
# N1 is not on that list and counts its vCPUs against CPUS.
CPU_QUOTA_FAMILIES = frozenset({"n1"})

# machine type -> (GPU metric, GPUs, vCPUs): Google's "GPU machine types" page (GPUS_URL).
MACHINES: dict[str, tuple[str, int, int]] = {
    "a2-highgpu-1g": ("NVIDIA_A100_GPUS", 1, 12),
    "a2-highgpu-2g": ("NVIDIA_A100_GPUS", 2, 24),
    "a2-highgpu-4g": ("NVIDIA_A100_GPUS", 4, 48),
    "a2-highgpu-8g": ("NVIDIA_A100_GPUS", 8, 96),
    "a2-megagpu-16g": ("NVIDIA_A100_GPUS", 16, 96),
    "a2-ultragpu-1g": ("NVIDIA_A100_80GB_GPUS", 1, 12),
    "a2-ultragpu-2g": ("NVIDIA_A100_80GB_GPUS", 2, 24),
    "a2-ultragpu-4g": ("NVIDIA_A100_80GB_GPUS", 4, 48),
    "a2-ultragpu-8g": ("NVIDIA_A100_80GB_GPUS", 8, 96),
    "a3-highgpu-1g": ("NVIDIA_H100_GPUS", 1, 26),
    "a3-highgpu-2g": ("NVIDIA_H100_GPUS", 2, 52),
    "a3-highgpu-4g": ("NVIDIA_H100_GPUS", 4, 104),
    "a3-highgpu-8g": ("NVIDIA_H100_GPUS", 8, 208),
    "a3-megagpu-8g": ("NVIDIA_H100_MEGA_GPUS", 8, 208),
    "a3-ultragpu-8g": ("NVIDIA_H200_GPUS", 8, 224),
    "a4-highgpu-8g": ("NVIDIA_B200_GPUS", 8, 224),
    "g2-standard-4": ("NVIDIA_L4_GPUS", 1, 4),
    "g2-standard-8": ("NVIDIA_L4_GPUS", 1, 8),
    "g2-standard-12": ("NVIDIA_L4_GPUS", 1, 12),
    "g2-standard-16": ("NVIDIA_L4_GPUS", 1, 16),
    "g2-standard-24": ("NVIDIA_L4_GPUS", 2, 24),
    "g2-standard-32": ("NVIDIA_L4_GPUS", 1, 32),  # one L4, not two: the page says so
    "g2-standard-48": ("NVIDIA_L4_GPUS", 4, 48),
    "g2-standard-96": ("NVIDIA_L4_GPUS", 8, 96),
}

# GPU on N1 -> {GPU count: most vCPUs}, "N1 instances with fewer GPUs limit the maximum
# number of vCPUs" (GPUS_URL). P100 x4 allows 64 in three zones and 96 elsewhere: a region
# holds zones of the larger range, so 96.
N1_GPUS: dict[str, dict[int, int]] = {
    "NVIDIA_T4_GPUS": {1: 48, 2: 48, 4: 96},
    "NVIDIA_P4_GPUS": {1: 24, 2: 48, 4: 96},
    "NVIDIA_V100_GPUS": {1: 12, 2: 24, 4: 48, 8: 96},
    "NVIDIA_P100_GPUS": {1: 16, 2: 32, 4: 96},
}

# N1 predefined machine types (N1_URL): the number in the name is the vCPUs.
N1_MACHINES: dict[str, int] = {
    **{f"n1-standard-{n}": n for n in (1, 2, 4, 8, 16, 32, 64, 96)},
    **{f"n1-highmem-{n}": n for n in (2, 4, 8, 16, 32, 64, 96)},
    **{f"n1-highcpu-{n}": n for n in (2, 4, 8, 16, 32, 64, 96)},
}

POOL_MACHINES: dict[str, int] = {f"c3-standard-{n}": n for n in POOL_VCPUS}

_GPU_FORM = re.compile(r"([0-9]{1,3})\s*[X×]\s*([A-Z0-9_]+)")


@dataclass(frozen=True)
class Shape:
    """One machine a launch starts: what it holds and which quotas that touches."""

    name: str  # as people write it: ``a3-highgpu-8g``, ``n1-standard-8+4xT4``, ``c3-standard-88``
    machine_type: str
    family: str  # a2, a3, a4, g2, n1, c3
    gpu_metric: str | None  # Compute's name, ``NVIDIA_H100_GPUS``; None for a pool machine
    gpus: int
    vcpus: int
    source: str  # the page every number of this row comes from

    @property
    def consumes_cpu_quota(self) -> bool:
        """True for a family whose VMs count their vCPUs against a Compute CPU quota."""
        return self.family in CPU_QUOTA_FAMILIES


def family_of(machine_type: str) -> str:
    return machine_type.partition("-")[0]


def machine(machine_type: str) -> Shape:
    """The row of an accelerator-optimized machine type or a pool machine; KeyError if none."""
    if machine_type in POOL_MACHINES:
        vcpus = POOL_MACHINES[machine_type]
        return Shape(machine_type, machine_type, "c3", None, 0, vcpus, POOL_URL)
    metric, gpus, vcpus = MACHINES[machine_type]
    return Shape(machine_type, machine_type, family_of(machine_type), metric, gpus, vcpus, GPUS_URL)


def attached(machine_type: str, gpus: int, model: str) -> Shape:
    """An N1 machine with ``gpus`` of ``model`` attached, or ValueError saying why not."""
    vcpus = N1_MACHINES[machine_type]
    metric = f"NVIDIA_{model}_GPUS"
    ranges = N1_GPUS.get(metric)
    if ranges is None:
        offered = ", ".join(short_name(m) for m in N1_GPUS)
        raise ValueError(f"{model} does not attach to N1 machines (N1 takes {offered})")
    most = ranges.get(gpus)
    if most is None:
        counts = ", ".join(str(n) for n in ranges)
        raise ValueError(f"N1 takes {counts} {model} GPUs, not {gpus}")
    if vcpus > most:
        raise ValueError(
            f"{machine_type} has {vcpus} vCPUs; with {gpus} {model} N1 allows 1 to {most}"
        )
    name = f"{machine_type}+{gpus}x{model}"
    return Shape(name, machine_type, "n1", metric, gpus, vcpus, GPUS_URL)


def by_gpus(gpus: int, model: str) -> Shape:
    """``8xH100``: the one machine type holding that many of that GPU, or ValueError."""
    metric = f"NVIDIA_{model}_GPUS"
    found = [t for t, (m, n, _) in MACHINES.items() if m == metric and n == gpus]
    if len(found) == 1:
        return machine(found[0])
    if found:
        raise ValueError(f"{gpus}x{model} is held by {', '.join(found)}: name one")
    if metric in N1_GPUS:
        raise ValueError(f"{model} attaches to N1: name it as n1-standard-8+{gpus}x{model}")
    counts = sorted({n for m, n, _ in MACHINES.values() if m == metric})
    if counts:
        held = ", ".join(f"{n}x{model}" for n in counts)
        raise ValueError(f"no machine type holds {gpus}x{model} (there are {held})")
    raise ValueError(f"unknown GPU {model!r}{_did_you_mean(f'{gpus}x{model}')}")


def parse_shape(text: str) -> Shape:
    """A shape from what a person typed, or ValueError in one line with the closest names."""
    raw = clean_line(text, 80).strip()
    lower = raw.lower()
    if lower in MACHINES or lower in POOL_MACHINES:
        return machine(lower)
    base, plus, extra = lower.partition("+")
    if plus and base in N1_MACHINES:
        form = _GPU_FORM.fullmatch(_gpu_words(extra))
        if form:
            return attached(base, int(form.group(1)), form.group(2))
        raise ValueError(f"unknown GPUs {extra!r} on {base}: write them as {base}+4xT4")
    form = _GPU_FORM.fullmatch(_gpu_words(raw))
    if form and not plus:
        return by_gpus(int(form.group(1)), form.group(2))
    if base in N1_MACHINES:
        raise ValueError(f"{base} holds no GPU: attach some, as {base}+1xT4")
    raise ValueError(f"unknown shape {raw!r}{_did_you_mean(lower)}")


def _gpu_words(text: str) -> str:
    """``8xh100``, ``4 x A100-80GB`` -> ``8XH100``, ``4 X A100_80GB``: a GPU form's spelling."""
    return text.strip().upper().replace("-", "_").replace("NVIDIA_", "").removesuffix("_GPUS")


def names() -> list[str]:
    """Every name a shape may be given as, for "did you mean"."""
    gpu_forms = {f"{n}x{short_name(m)}" for m, n, _ in MACHINES.values()}
    return [*MACHINES, *sorted(gpu_forms), *POOL_MACHINES, *(f"{t}+1xT4" for t in N1_MACHINES)]


def _did_you_mean(text: str) -> str:
    """``; did you mean a3-highgpu-8g or a3-highgpu-4g?`` (the closest two), or nothing."""
    pool = {n.lower(): n for n in names()}
    found = difflib.get_close_matches(text.lower(), list(pool), n=2, cutoff=0.6)
    if not found:
        return "; name a machine type (a3-highgpu-8g), 8xH100 or n1-standard-8+4xT4"
    return f"; did you mean {' or '.join(pool[f] for f in found)}?"
