"""One tick's work: the checks it serves, the regions it asks for, and what came back."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from trayapp.sources.base import SourceError
from trayapp.warming.events import WarmEvent
from trayapp.warming.levels import Level
from trayapp.warming.plan import QuotaCheck

Region = tuple[str, str]  # (project, region)
FAMILY_CALL = "cloudquotas"  # the "region" of a family call's key: (project, FAMILY_CALL)


@dataclass
class Batch:
    """Checks of one tick. Every region in it is one API call; a batch is timed only when it
    made at least one call, so the time it reports is the API's."""

    checks: list[QuotaCheck]
    round: int
    fatal: SourceError | None = None  # the client could not even be built
    failures: dict[Region, SourceError] = field(default_factory=dict)
    elapsed_ms: int = 0
    family: str | None = None  # a Cloud Quotas family call for this project, and nothing else
    notice: SourceError | None = None  # a failure a person must mend; warming goes on

    @property
    def regions(self) -> list[Region]:
        """The calls of the batch: (project, region), or (project, FAMILY_CALL)."""
        if self.family is not None:
            return [(self.family, FAMILY_CALL)]
        return list(dict.fromkeys((c.project, c.region) for c in self.checks))

    @property
    def timed(self) -> bool:
        return bool(self.checks) and self.fatal is None

    def failed_checks(self) -> list[QuotaCheck]:
        if self.family is not None:
            return list(self.checks) if self.failures else []
        return [c for c in self.checks if (c.project, c.region) in self.failures]

    def kind(self, level: Level | None) -> WarmEvent:
        if self.failures:
            return WarmEvent.BATCH_FAIL
        return WarmEvent.BATCH_WARM if level is Level.FIRE else WarmEvent.BATCH_SLOW

    def describe(self) -> dict[str, Any]:
        first = next(iter(self.failures.values()), None)
        return {
            "message": first.message if first else "",
            "error_kind": first.kind if first else None,
            "data": {
                "checks": [f"{c.kind}:{c.project}/{c.region}/{c.metric}" for c in self.checks],
                "failed": [f"{c.kind}:{c.region}/{c.metric}" for c in self.failed_checks()],
                "api_calls": len(self.regions),
            },
        }
