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
    """Checks of one tick. Its API calls are the HTTP requests its calls made, as the source
    counted them (a list of two pages: two); a batch is timed only when it made at least one
    call, so the time it reports is the API's."""

    checks: list[QuotaCheck]
    round: int
    fatal: SourceError | None = None  # the client could not even be built
    failures: dict[Call, SourceError] = field(default_factory=dict)
    elapsed_ms: int = 0
    family: Call | None = None  # a project's Cloud Quotas family call, and nothing else
    notices: list[SourceError] = field(default_factory=list)  # to mend; warming goes on
    requests: int | None = None  # HTTP requests made, when the source counts them

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
    def api_calls(self) -> int:
        """HTTP requests the batch made: as the source counted them, else one a call."""
        if self.fatal is not None:
            return 0
        return self.requests if self.requests is not None else len(self.regions)

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
                "api_calls": self.api_calls,
            },
        }


def requests_sent(source: Any) -> int | None:
    """The HTTP requests ``source`` has sent so far, or None when it does not count them."""
    sent = getattr(source, "requests", None)
    return sent if isinstance(sent, int) else None
