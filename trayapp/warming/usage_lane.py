"""Usage from Cloud Monitoring, for the quotas whose source gives limits only (Vertex AI
training, Cloud Build private pools): one ListTimeSeries per service and metric type per cycle
answers every region of a project.

A check whose usage Monitoring gave reads it with its time (``usage_source``, ``usage_at``), so
FREE is exact where it is known; a reading stays with its own time until a newer one comes, and
readers say an old one as old. Where no point carries a check's usage, it stays unknown (``≤``
its limit) and that is said once a run. Standard library only, like the warmer.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from trayapp.sources import usage
from trayapp.sources.quota_names import API_NAMES, SERVICE_NAMES
from trayapp.warming.calls import wanted
from trayapp.warming.events import WarmEvent
from trayapp.warming.extras import Told

if TYPE_CHECKING:
    from trayapp.warming.plan import QuotaCheck
    from trayapp.warming.state import CheckState, WarmState

PREFIX = "usage"


class UsageLane:
    """The ``usage:<service>:<metric type>`` calls of a project."""

    name = PREFIX
    api = "monitoring"

    def __init__(self) -> None:
        self._said: set[str] = set()  # projects told that some usage is unknown

    def keys(self, state: WarmState, project: str) -> list[str]:
        limits_only = [s for _, s in _limits_only(state, project)]
        asked = usage.usage_requests(
            {"service": s.service, "quota_metric": s.quota_metric, "concurrent": s.concurrent}
            for s in limits_only
        )
        return [f"{PREFIX}:{r.service}:{r.metric_type}" for r in asked]

    def describe(self, project: str, key: str) -> str:
        service = key.split(":", 2)[1]
        short = next((k for k, api in API_NAMES.items() if api == service), service)
        named = SERVICE_NAMES.get(short, service)
        return f"{project}/usage of {named} quotas (Cloud Monitoring)"

    def ask(self, source: Any, project: str, key: str) -> Any:
        _, service, metric_type = key.split(":", 2)
        return source.fetch_usage(project, usage.UsageRequest(service, metric_type, usage.WINDOW_S))

    def apply(
        self, state: WarmState, project: str, key: str, answer: Any, fetched_at: str
    ) -> list[Told]:
        _, service, metric_type = key.split(":", 2)
        points = list(answer or ())
        unknown = 0
        for check, s in _limits_only(state, project):
            api = usage.service_of(s.service, s.quota_metric or "")
            kind = usage.metric_type(api, s.quota_metric or "", bool(s.concurrent))
            if api != service or kind != metric_type:
                continue
            dims = {"region": check.region, **wanted(check)}
            point = usage.usage_for(s.service, s.quota_metric or "", check.region, dims, points)
            if point is None:
                unknown += 0 if s.usage_source else 1
                continue
            s.usage, s.usage_source = float(point.value), usage.SOURCE
            s.usage_at = datetime.fromtimestamp(point.at, UTC).isoformat(timespec="milliseconds")
        if not unknown or project in self._said:
            return []
        self._said.add(project)
        where = self.describe(project, key)
        return [
            Told(
                WarmEvent.NOTICE,
                f"{where}: no usage point for {unknown} of its quotas in the last "
                f"{usage.WINDOW_S // 3600} h; their FREE stays ≤ the limit",
                {"lane": PREFIX},
            )
        ]


def _limits_only(state: WarmState, project: str) -> list[tuple[QuotaCheck, CheckState]]:
    """The project's answered checks whose source gave a limit and no usage. Not the Compute
    GPU family quota: Monitoring's points do not tell one family from another, so asking would
    cost a call and answer nothing."""
    return [
        (c, s)
        for c, s in state.checks.items()
        if c.project == project
        and s.source == "cloudquotas"
        and s.service != "compute"
        and s.status == "ok"
        and s.quota_metric
        and not s.unlimited
    ]
