"""Compute's ``advice.capacity`` as the emulator serves it: ``POST
/compute/v1/projects/P/regions/R/advice/capacity`` with a CapacityAdviceRequest body, answered
with one recommendation (an obtainability score, for Spot an estimated uptime, and shards with
their zones) computed from the region, the machine type, the count and the provisioning
model, so a test can tell each part of the request reached it. One region has no advice (as
where Google does not offer it). Its fault target is ``advice``. Standard library only.
"""

from __future__ import annotations

import json
import re

from trayapp.emulator.faults import Fault, error_body
from trayapp.emulator.quota_data import KNOWN_REGIONS

ROUTE = re.compile(r"^/compute/v1/projects/([^/]+)/regions/([^/]+)/advice/capacity/?$")
TARGET = "advice"  # the fault target of advice.capacity requests
METHODS = ("POST",)
MODELS = ("STANDARD", "SPOT")  # the provisioning models advice is documented for, besides Flex

# region -> the obtainability of one standard machine: some likely, some not
REGION_SCORES = {
    "us-central1": 0.82,
    "us-east4": 0.74,
    "us-west1": 0.12,
    "europe-west4": 0.35,
    "us-east5": 0.66,
    "asia-northeast1": 0.2,
}
DEFAULT_SCORE = 0.45
NOT_OFFERED = frozenset({"us-east1"})  # no advice here: 404, as for a method not served there
GPU_FAMILIES = ("a2-", "a3-", "a4-", "g2-", "g4-")  # accelerator shapes: harder to come by


def score(region: str, machine_type: str, count: int, spot: bool, gpus: bool = False) -> float:
    """The score the emulator gives: the region's, less for GPU shapes (or attached GPUs) and
    for more machines, more for Spot; two decimals, 0..1."""
    value = REGION_SCORES.get(region, DEFAULT_SCORE)
    if gpus or machine_type.startswith(GPU_FAMILIES):
        value *= 0.95
    value /= 1 + 0.1 * (count - 1)
    if spot:
        value += 0.08
    return round(min(max(value, 0.0), 1.0), 2)


def answer(
    project: str, region: str, raw: bytes, fault: Fault | None
) -> tuple[int, dict[str, object]]:
    """The status and body for one advice request (``fault``: the one it drew, if any)."""
    if fault is not None and fault.action == "http":
        return fault.status, fault.error_body(project, region)
    if region not in KNOWN_REGIONS:
        return 404, error_body(404, "notFound", f"The resource 'regions/{region}' was not found")
    if region in NOT_OFFERED:
        text = f"Capacity advice is not available in region {region}."
        return 404, error_body(404, "notFound", text)
    try:
        asked = _request(json.loads(raw or b"{}"))
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        return 400, error_body(400, "invalid", f"Invalid CapacityAdviceRequest: {exc}")
    machine_type, count, spot, gpus = asked
    got = score(region, machine_type, count, spot, gpus)
    zones = [f"{region}-a", f"{region}-b"][: min(count, 2)] if got >= 0.5 else [f"{region}-c"]
    shards, left = [], count
    for number, zone in enumerate(zones):
        size = left if number == len(zones) - 1 else (count + 1) // 2
        left -= size
        shards.append(
            {
                "zone": zone,
                "machineType": machine_type,
                "instanceCount": size,
                "provisioningModel": "SPOT" if spot else "STANDARD",
            }
        )
    scores: dict[str, object] = {"obtainability": got}
    if spot:  # documented for Spot VMs: how long most of them run before preemption
        scores["estimatedUptime"] = f"{int((4 + 20 * got) * 3600)}s"
    return 200, {"recommendations": [{"scores": scores, "shards": shards}]}


def _request(body: dict[str, object]) -> tuple[str, int, bool, bool]:
    """(machine type, count, Spot, GPUs attached) from a CapacityAdviceRequest; ValueError
    when it lacks one of them."""
    model = body["instanceProperties"]["scheduling"]["provisioningModel"]  # type: ignore[index]
    if model not in MODELS:
        raise ValueError(f"provisioningModel {model!r} is not one of {', '.join(MODELS)}")
    selections = body["instanceFlexibilityPolicy"]["instanceSelections"]  # type: ignore[index]
    types = [t for s in selections.values() for t in s.get("machineTypes", [])]
    if len(types) != 1 or not re.fullmatch(r"[a-z][a-z0-9-]{1,62}", str(types[0])):
        raise ValueError("exactly one machine type is asked for here")
    count = int(body["size"])  # type: ignore[call-overload]
    if count < 1:
        raise ValueError("size must be at least 1")
    gpus = any(s.get("guestAccelerators") for s in selections.values())
    return str(types[0]), count, model == "SPOT", gpus
