"""One tick's work: the checks it serves, the calls it makes, and what came back."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from trayapp.sources.base import SourceError
from trayapp.warming.calls import Call, call_of
from trayapp.warming.events import WarmEvent
from trayapp.warming.levels import Level
from trayapp.warming.plan import QuotaCheck

Region = Call  # (project, region), or (project, "<service>:<tier>[:<metric>]"): see calls


@dataclass
class Batch:
    """Checks of one tick. Every call in it is one API call (a list of several pages counts
    once); a batch is timed only when it made at least one call, so the time it reports is the
    API's."""

    checks: list[QuotaCheck]
    round: int
    fatal: SourceError | None = None  # the client could not even be built
    failures: dict[Call, SourceError] = field(default_factory=dict)
    elapsed_ms: int = 0
    family: Call | None = None  # a project's Cloud Quotas family call, and nothing else
    notices: list[SourceError] = field(default_factory=list)  # to mend; warming goes on

    @property
    def notice(self) -> SourceError | None:
        return self.notices[0] if self.notices else None

    @notice.setter
    def notice(self, value: SourceError | None) -> None:
        if value is not None:
            self.notices.append(value)

    @property
    def regions(self) -> list[Call]:
        """The calls of the batch: regions.get per region, a QuotaInfo per call key, or the
        project's family call."""
        if self.family is not None:
            return [self.family]
        return list(dict.fromkeys(call_of(c) for c in self.checks))

    @property
    def timed(self) -> bool:
        return bool(self.checks) and self.fatal is None

    def failed_checks(self) -> list[QuotaCheck]:
        if self.family is not None:
            return list(self.checks) if self.failures else []
        return [c for c in self.checks if call_of(c) in self.failures]

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
