"""Following quota increase requests: the project's QuotaPreferences, listed once per cycle
(one call per project), kept for the quotas the app reads whoever filed them, and their state
changes told: granted (and the checks read again at once, so the answer shows the new limit),
partly granted, denied or needing Support. Standard library only, like the warmer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from trayapp.sources import preference_states as states
from trayapp.sources.quota_names import API_NAMES
from trayapp.warming.events import WarmEvent
from trayapp.warming.extras import Told

if TYPE_CHECKING:
    from trayapp.warming.state import WarmState

KEY = "preferences"
LIST = "requests"


class RequestsLane:
    """The ``preferences`` call of each project."""

    name = KEY
    api = "cloudquotas"

    def keys(self, state: WarmState, project: str) -> list[str]:
        return [KEY] if read_quotas(state, project) else []

    def describe(self, project: str, key: str) -> str:
        return f"{project}/quota increase requests"

    def ask(self, source: Any, project: str, key: str) -> Any:
        return source.fetch_preferences(project)

    def apply(
        self, state: WarmState, project: str, key: str, answer: Any, fetched_at: str
    ) -> list[Told]:
        old = state.extras.entries(project, LIST)
        new = states.entries(list(answer or ()), read_quotas(state, project))
        state.extras.keep(project, LIST, new)
        return [
            Told(
                WarmEvent.REQUEST,
                change.log,
                {
                    "plain": change.notice,
                    "state": change.state,
                    "project": project,
                    "reread": change.state in ("granted", "partly granted"),
                },
            )
            for change in states.changes(old, new)
        ]


def read_quotas(state: WarmState, project: str) -> set[tuple[str, str]]:
    """(service, quota ID) of every quota the project's checks read: the Cloud Quotas IDs that
    answered, and for regions.get metrics the IDs Cloud Quotas gives them
    (``NVIDIA-T4-GPUS-per-project-region``, ``PREEMPTIBLE-...`` for Spot)."""
    found: set[tuple[str, str]] = set()
    for check, s in state.checks.items():
        if check.project != project:
            continue
        api = API_NAMES.get(s.service, API_NAMES["compute"])
        if s.quota_id:
            found.add((api, s.quota_id))
        elif s.service == "compute" and check.kind != "global":
            spot = "PREEMPTIBLE-" if check.tier == "spot" and check.kind == "gpu" else ""
            found.add((api, f"{spot}{check.metric.replace('_', '-')}-per-project-region"))
    return found
