"""The one rule for every Cloud Quotas answer: which entry of a QuotaInfo applies to a region.

A QuotaInfo holds entries, each with a dimensions map (``region``, ``gpu_family``,
``build_origin``; empty for the catch-all), a value, and the locations it applies to. An entry
applies to region R when each of its dimensions allows R (``region`` equals R, any other
dimension equals the value the check wants) and, when it lists locations, R is among them. The
more specific entry wins: a region dimension outranks any other, then the number of dimensions.
No entry applies: the service does not offer the quota there (not reported). A negative value
is unlimited. Standard library only: the warmer uses this, and the values cross processes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import NamedTuple

UNLIMITED = float("inf")  # what ``resolve`` returns for a negative (unlimited) value


class QuotaEntry(NamedTuple):
    """One ``dimensionsInfos`` entry: its dimensions, value and ``applicableLocations``."""

    dimensions: dict[str, str]
    value: float
    locations: tuple[str, ...] = ()


class QuotaRequest(NamedTuple):
    """Which QuotaInfo a call asks for: by ID when one is known (falling back to the list on
    404), else the service's list, matched by ``metric``."""

    service: str  # "aiplatform.googleapis.com"
    quota_id: str | None
    metric: str  # "aiplatform.googleapis.com/custom_model_training_nvidia_t4_gpus"


class QuotaAnswer(NamedTuple):
    """The QuotaInfo found, as the API named it, with its entries and whether it may be raised:
    ``eligible``, ``fixed``, the reason it may not in lower case (``not_enough_usage_history``),
    or None when the answer did not say. ``concurrent``: the QuotaInfo's ``isConcurrent``
    (None when not said), which tells the Monitoring metric that carries its usage."""

    quota_id: str
    metric: str
    entries: tuple[QuotaEntry, ...]
    eligibility: str | None = None
    concurrent: bool | None = None


def _rank(
    dimensions: Mapping[str, str],
    locations: Sequence[str],
    region: str,
    wanted: Mapping[str, str],
) -> int | None:
    """How specific an entry is for ``region``; None when it does not apply there."""
    for key, value in dimensions.items():
        if key == "region":
            if value != region:
                return None
        elif wanted.get(key) != value:  # another family or origin, or a dimension not ours
            return None
    if locations and region not in locations:
        return None
    return 2 * len(dimensions) + ("region" in dimensions)


def resolve(
    entries: Sequence[Sequence[object]], region: str, wanted: Mapping[str, str] | None = None
) -> float | None:
    """The value in effect for ``region`` (``UNLIMITED`` for a negative one), or None when no
    entry applies. ``entries`` are QuotaEntry or (dimensions, value) pairs."""
    best: tuple[int, float] | None = None
    for entry in entries:
        dimensions, value, *rest = entry
        locations: Sequence[str] = rest[0] if rest else ()  # type: ignore[assignment]
        rank = _rank(dimensions, locations, region, wanted or {})  # type: ignore[arg-type]
        if rank is not None and (best is None or rank > best[0]):
            best = (rank, float(value))  # type: ignore[arg-type]
    if best is None:
        return None
    return UNLIMITED if best[1] < 0 else best[1]
