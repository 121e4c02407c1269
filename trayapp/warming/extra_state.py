"""What the enrichments brought, kept beside the checks: each call's latest outcome, and the
lists they keep (``capacity``, ``requests``), per project. Standard library only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# a call's outcome: "unavailable" is an answer (the API is not offered there), not a failure
OUTCOMES = ("ok", "error", "unavailable")


@dataclass
class Outcome:
    """The latest outcome of one enrichment call."""

    status: str  # one of OUTCOMES
    fetched_at: str | None = None  # when it last answered
    error: str | None = None  # the latest failure, one line
    kind: str | None = None  # the failure's kind (permission, disabled, timeout...)
    cycle: int = 0  # the cycle of the latest answer: answered calls are not asked again in it

    def entry(self, key: str) -> dict[str, Any]:
        return {
            "key": key,
            "status": self.status,
            "fetched_at": self.fetched_at,
            "error": self.error,
        }


class ExtraState:
    """Every enrichment call's latest outcome, and the lists enrichments keep (``capacity``,
    ``requests``), per project; written into the project's entry of the cache document."""

    LISTS = ("capacity", "requests")

    def __init__(self) -> None:
        self.outcomes: dict[str, dict[str, Outcome]] = {}
        self.lists: dict[str, dict[str, list[dict[str, Any]]]] = {}

    def outcome(self, project: str, key: str) -> Outcome | None:
        return self.outcomes.get(project, {}).get(key)

    def record(self, project: str, key: str, outcome: Outcome) -> None:
        self.outcomes.setdefault(project, {})[key] = outcome

    def entries(self, project: str, name: str) -> list[dict[str, Any]]:
        return self.lists.get(project, {}).get(name, [])

    def keep(self, project: str, name: str, entries: list[dict[str, Any]]) -> None:
        self.lists.setdefault(project, {})[name] = entries

    def document(self, project: str) -> dict[str, Any]:
        """The project's ``extras`` and lists, for the cache document (nothing when empty)."""
        part: dict[str, Any] = {
            name: entries for name, entries in self.lists.get(project, {}).items() if entries
        }
        outcomes = self.outcomes.get(project)
        if outcomes:
            part["extras"] = [outcome.entry(key) for key, outcome in sorted(outcomes.items())]
        return part

    def seed(self, project: str, body: dict[str, Any]) -> None:
        """Take the lists an earlier file kept (a request's state survives a restart, so a
        grant that came meanwhile is still told)."""
        for name in self.LISTS:
            entries = body.get(name)
            if isinstance(entries, list):
                self.keep(project, name, [e for e in entries if isinstance(e, dict)])

    def failing(self) -> list[dict[str, Any]]:
        """The enrichment calls whose latest attempt failed, for `status`."""
        return [
            {"project": project, **outcome.entry(key)}
            for project, outcomes in self.outcomes.items()
            for key, outcome in sorted(outcomes.items())
            if outcome.status == "error"
        ]
