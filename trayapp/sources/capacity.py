"""Capacity advice as the warmer and the emulator see it: what one call asks for (a machine
type, a count, Spot or standard, in one region) and what it answers (the obtainability score,
the estimated uptime, the zones of the recommended shards), with the body Compute's
``advice.capacity`` takes. Quota says a launch is allowed; this says whether the machines are
there. Standard library only: the client is ``compute_advice``.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from trayapp.safety.text import clean_line
from trayapp.words import LIKELY, LIKELY_AT, NOT_OFFERED, UNLIKELY, likely

__all__ = [
    "LIKELY",
    "LIKELY_AT",
    "NOT_OFFERED",
    "UNLIKELY",
    "CapacityAnswer",
    "CapacityRequest",
    "likely",
    "not_offered",
    "request_body",
    "uptime_seconds",
]

MAX_ZONES = 16  # a region has a handful; more is not an answer to keep
# the words a refusal's message carries when the API is not offered to the project or region:
# SourceError("not_offered", ...) says so in these words
NOT_OFFERED_TEXT = "capacity advice is not offered"
# the GPUs attached to N1 machines, as Compute names their accelerator types
N1_ACCELERATORS = {
    "t4": "nvidia-tesla-t4",
    "p4": "nvidia-tesla-p4",
    "v100": "nvidia-tesla-v100",
    "p100": "nvidia-tesla-p100",
}
_ATTACHED = re.compile(r"(\d+)x([a-z0-9]+)")  # "4xt4"
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)s\s*$")  # proto3 JSON Duration: "3600s", "1.5s"


class CapacityRequest(NamedTuple):
    """One advice call: ``count`` machines of ``machine_type`` in ``region``, Spot or standard."""

    region: str
    machine_type: str
    count: int
    spot: bool


class CapacityAnswer(NamedTuple):
    """What the advice said: the score (0..1, None when absent), the estimated uptime in
    seconds (given for Spot), and the zones of the recommended shards, in their order."""

    score: float | None
    uptime_s: float | None
    zones: tuple[str, ...]


def request_body(request: CapacityRequest) -> dict[str, object]:
    """The CapacityAdviceRequest body (camelCase, as REST sends it): the machine type as the
    one instance selection (an N1 shape ``n1-standard-8+4xT4`` with its GPUs as guest
    accelerators), the provisioning model, the size, any zone of the region."""
    machine, _, gpus = request.machine_type.partition("+")
    selection: dict[str, object] = {"machineTypes": [machine]}
    attached = _ATTACHED.fullmatch(gpus.lower())
    if attached and attached.group(2) in N1_ACCELERATORS:
        accelerator = N1_ACCELERATORS[attached.group(2)]
        selection["guestAccelerators"] = [
            {"acceleratorType": accelerator, "acceleratorCount": int(attached.group(1))}
        ]
    return {
        "instanceProperties": {
            "scheduling": {"provisioningModel": "SPOT" if request.spot else "STANDARD"}
        },
        "instanceFlexibilityPolicy": {"instanceSelections": {"launch": selection}},
        "size": request.count,
        "distributionPolicy": {"targetShape": "ANY"},
    }


def uptime_seconds(text: object) -> float | None:
    """``"3600s"`` (a proto3 JSON Duration, how Compute sends ``estimatedUptime``) -> 3600.0;
    anything else -> None (never a guess)."""
    found = _DURATION.match(text) if isinstance(text, str) else None
    return float(found.group(1)) if found else None


def zone_name(text: object) -> str:
    """A shard's zone, as a name: ``us-east4-a`` from a name or a zone URL; "" when not one."""
    name = clean_line(str(text or ""), 200).rstrip("/").rpartition("/")[2]
    return name if re.fullmatch(r"[a-z][a-z0-9-]{1,62}", name) else ""


def score_of(value: object) -> float | None:
    """The obtainability score when it is a number from 0 to 1, else None."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if 0.0 <= value <= 1.0 else None


def not_offered(kind: str, message: str) -> bool:
    """True for the failure that means advice is not offered there (not an error to retry)."""
    return kind == "not_offered"
