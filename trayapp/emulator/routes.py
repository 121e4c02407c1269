"""Which API a request path asks, and the fault target it answers to: a region's regions.get
(its region), a Cloud Quotas QuotaInfo (its service's target), a quota preference
(``cloudquotas``), projects.get (``project``) or advice.capacity (``advice``)."""

from __future__ import annotations

import re
from typing import NamedTuple

from trayapp.emulator import advice, answers, preferences, projects, quotas


class Route(NamedTuple):
    project: str | None
    target: str | None  # a region, or the fault target of a non-regional API
    quota: re.Match[str] | None = None
    asks: re.Match[str] | None = None  # quota preferences
    project_wide: bool = False
    advised: re.Match[str] | None = None

    @property
    def regional(self) -> bool:
        """A region's regions.get: its region must exist."""
        return not (self.quota or self.asks or self.project_wide or self.advised)

    @property
    def methods(self) -> tuple[str, ...]:
        return preferences.METHODS if self.asks else advice.METHODS if self.advised else ("GET",)


def route_of(path: str) -> Route:
    """The first of these that matches, most specific first."""
    if found := advice.ROUTE.match(path):
        return Route(found.group(1), advice.TARGET, advised=found)
    if found := projects.ROUTE.match(path):
        return Route(found.group(1), projects.TARGET, project_wide=True)
    if found := preferences.ROUTE.match(path):
        return Route(found.group(1), quotas.QUOTAS_TARGET, asks=found)
    if found := quotas.ROUTE.match(path):
        return Route(found.group(1), quotas.target_of(found.group(2)), quota=found)
    found = answers.ROUTE.match(path)
    return Route(*found.groups()) if found else Route(None, None)
