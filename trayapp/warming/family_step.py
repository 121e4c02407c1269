"""The warmer's GPU family step: checks regions.get did not report wait for one Cloud Quotas
call per project per cycle, and are filled from its answer.

A GPU check whose region answered without its metric is held open (not done) while its
project's family quota may still answer it; the warmer then schedules the family call as a
batch of its own. The answer is kept for the rest of the cycle, so regions that answer later
are filled at once, with no second call. A failure a person must mend (API disabled, permission
missing, QuotaInfo not served) releases the held checks as not reported and is told once per
run; other failures are retried within the round's budget, then fail the held checks like any
failed fetch. Standard library only, like the warmer.
"""

from __future__ import annotations

from collections import Counter

from trayapp.cache import now_iso
from trayapp.sources.base import SourceError
from trayapp.sources.compute_family import FamilyQuotas, family_of, resolve
from trayapp.warming.plan import QuotaCheck
from trayapp.warming.state import WarmState

# Failures no retry mends: the checks stay not reported, warming goes on.
NOTICE_KINDS = frozenset({"auth", "permission", "not_found"})


class FamilyStep:
    """Per-cycle bookkeeping of the family quota; every method runs under the warmer's lock."""

    def __init__(self, max_attempts: int = 3) -> None:
        self.max_attempts = max_attempts
        self.told: set[str] = set()  # notices already given this run
        self.new_cycle()

    def new_cycle(self) -> None:
        self.answers: dict[str, FamilyQuotas] = {}
        self.blocked: set[str] = set()  # projects whose family quota cannot be read this cycle
        self.held: set[QuotaCheck] = set()
        self.wanted: list[str] = []
        self.in_flight: set[str] = set()
        self.attempts: Counter[str] = Counter()
        self.gave_up: dict[str, str] = {}  # project -> last failure, once out of attempts

    def new_round(self) -> None:
        """A retry round gets a fresh budget of attempts."""
        self.attempts.clear()
        self.gave_up.clear()

    def after_region(self, state: WarmState, filled: list[QuotaCheck]) -> None:
        """A region answered: its unreported GPU metrics are filled, or held for the call."""
        for check in filled:
            family = family_of(check.metric)
            if family is None or state.checks[check].status != "absent":
                continue
            project = check.project
            if project in self.answers:
                self._fill(state, check, family, self.answers[project])
            elif project in self.gave_up:  # no more calls this round: failed, retried later
                state.apply_error(check, self.gave_up[project], final=True)
            elif project not in self.blocked:
                state.hold(check)
                self.held.add(check)
                if project not in self.wanted and project not in self.in_flight:
                    self.wanted.append(project)

    def due(self) -> str | None:
        """The project whose family call the next tick should make, if any."""
        return next((p for p in self.wanted if p not in self.in_flight), None)

    def waiting(self, project: str) -> list[QuotaCheck]:
        held = [c for c in self.held if c.project == project]
        return sorted(held, key=lambda c: (c.metric, c.region))

    def started(self, project: str) -> None:
        self.wanted.remove(project)
        self.in_flight.add(project)

    def answered(self, state: WarmState, project: str, entries: FamilyQuotas) -> None:
        self.in_flight.discard(project)
        self.answers[project] = entries
        for check in self.waiting(project):
            self.held.discard(check)
            self._fill(state, check, family_of(check.metric) or "", entries)

    def failed(self, state: WarmState, project: str, exc: SourceError) -> SourceError | None:
        """Record a failed call; returns the notice to give (once per run), if any."""
        self.in_flight.discard(project)
        if exc.kind in NOTICE_KINDS:
            self.blocked.add(project)
            for check in self.waiting(project):
                self.held.discard(check)
                state.release(check)
            if exc.message in self.told:
                return None
            self.told.add(exc.message)
            return exc
        self.attempts[project] += 1
        if self.attempts[project] < self.max_attempts:
            self.wanted.append(project)
            return None
        self.gave_up[project] = exc.message
        for check in self.waiting(project):  # like a region out of attempts: failed, retried
            self.held.discard(check)
            state.apply_error(check, exc.message, final=True)
        return None

    @staticmethod
    def _fill(state: WarmState, check: QuotaCheck, family: str, entries: FamilyQuotas) -> None:
        limit = resolve(entries, check.region, family)
        if limit is None:
            state.release(check)
        else:
            state.apply_family(check, limit, now_iso())
