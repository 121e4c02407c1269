"""Which enrichments a source can answer: a lane for each optional method it has (usage from
Cloud Monitoring, capacity advice, whether regions.get's quotas may be raised, quota requests),
none for a source without them."""

from __future__ import annotations

from typing import Any

from trayapp.warming.capacity_lane import CapacityLane
from trayapp.warming.eligibility_lane import EligibilityLane
from trayapp.warming.extras import Enrichment
from trayapp.warming.requests_lane import RequestsLane
from trayapp.warming.usage_lane import UsageLane


def lanes_for(source: Any, *, capacity: bool = True) -> list[Enrichment]:
    """The lanes of ``source``; ``capacity`` False (``[capacity] enabled = false``) keeps the
    capacity lane from asking, and drops the advice kept from before."""
    lanes: list[Enrichment] = []
    if callable(getattr(source, "fetch_usage", None)):
        lanes.append(UsageLane())
    if callable(getattr(source, "fetch_quota", None)):
        lanes.append(EligibilityLane())
    if callable(getattr(source, "fetch_preferences", None)):
        lanes.append(RequestsLane())
    if callable(getattr(source, "fetch_capacity", None)):
        lanes.append(CapacityLane(capacity))
    return lanes
