"""The warmer's GPU family step, and what a Cloud Quotas call's failure does to its checks.

A Compute GPU check whose region answered without its metric is held open (not done) while its
project's family quota (on-demand or preemptible, by the check's tier) may still answer it; the
warmer then schedules the family call as a batch of its own. The answer is kept for the rest of
the cycle, so regions that answer later are filled at once, with no second call. A failure a
person must mend (API disabled, permission missing, QuotaInfo not served) fails the held checks
with the fix as their reason and is told once per run; the round then ends in error and the
failed checks are retried like any other. Other failures are retried within the round's budget,
then fail the held checks like any failed fetch. A QuotaInfo that does not exist leaves its
checks not reported, told once per run. Standard library only, like the warmer.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from trayapp.cache import now_iso
from trayapp.sources.base import SourceError
from trayapp.sources.compute_family import family_of
from trayapp.sources.quota_rule import QuotaAnswer, QuotaRequest
from trayapp.warming.calls import Call, is_family_call, is_quota_call, request_of, value_for
from trayapp.warming.plan import QuotaCheck
from trayapp.warming.state import WarmState

# Failures a person must mend: the checks fail with the fix, warming goes on, told once a run.
NOTICE_KINDS = frozenset({"auth", "permission", "not_found"})


class FamilyStep:
    """Per-cycle bookkeeping of the family quota; every method runs under the warmer's lock."""

    def __init__(self, max_attempts: int = 3) -> None:
        self.max_attempts = max_attempts
        self.told: set[str] = set()  # notices already given this run
        self.pending: list[SourceError] = []  # notices for the next finished batch to give
        self.new_cycle()

    def new_cycle(self) -> None:
        self.answers: dict[str, QuotaAnswer | None] = {}
        self.blocked: dict[str, str] = {}  # project -> why its Cloud Quotas cannot be read
        self.held: set[QuotaCheck] = set()
        self.wanted: list[str] = []
        self.in_flight: set[str] = set()
        self.attempts: Counter[str] = Counter()
        self.gave_up: dict[str, str] = {}  # project -> last failure, once out of attempts

    def new_round(self) -> None:
        """A retry round gets a fresh budget of attempts, and asks a blocked project again."""
        self.attempts.clear()
        self.gave_up.clear()
        self.blocked.clear()

    def after_region(self, state: WarmState, filled: list[QuotaCheck]) -> None:
        """A region answered: its unreported GPU metrics are filled, or held for the call."""
        for check in filled:
            family = family_of(check.metric)
            if family is None or state.checks[check].status != "absent":
                continue
            project = check.project
            if project in self.answers:
                self._fill(state, check, self.answers[project])
            elif project in self.gave_up:  # no more calls this round: failed, retried later
                state.fail_held(check, self.gave_up[project])
            elif project in self.blocked:  # unknown, not "not reported": failed with the fix
                state.fail_held(check, self.blocked[project])
            else:
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

    def answered(
        self, state: WarmState, project: str, answer: QuotaAnswer | None, request: QuotaRequest
    ) -> None:
        self.in_flight.discard(project)
        self.answers[project] = answer
        if answer is None:
            self.note(self.not_served(project, request))
        for check in self.waiting(project):
            self.held.discard(check)
            self._fill(state, check, answer)

    def block(self, state: WarmState, project: str, exc: SourceError) -> SourceError | None:
        """A failure a person must mend: the project's held checks fail with it for this
        round; returns the notice to give (once per run), if any."""
        self.blocked[project] = exc.message
        if project in self.wanted:
            self.wanted.remove(project)
        for check in self.waiting(project):
            self.held.discard(check)
            state.fail_held(check, exc.message)
        return self.tell(exc)

    def note(self, notice: SourceError | None) -> None:
        """Keep a notice for the next finished batch to give."""
        if notice is not None:
            self.pending.append(notice)

    def take_notices(self) -> list[SourceError]:
        taken, self.pending = self.pending, []
        return taken

    def tell(self, notice: SourceError) -> SourceError | None:
        """``notice`` the first time this run, else None."""
        if notice.message in self.told:
            return None
        self.told.add(notice.message)
        return notice

    def not_served(self, project: str, request: QuotaRequest) -> SourceError | None:
        """The notice for a QuotaInfo the service does not have (once per run)."""
        return self.tell(
            SourceError(
                "not_found",
                f"project {project}: {request.service} serves no quota {request.metric}; "
                "its checks are not reported",
            )
        )

    def failed(self, state: WarmState, project: str, exc: SourceError) -> SourceError | None:
        """Record a failed call; returns the notice to give (once per run), if any."""
        self.in_flight.discard(project)
        if exc.kind in NOTICE_KINDS:
            return self.block(state, project, exc)
        self.attempts[project] += 1
        if self.attempts[project] < self.max_attempts:
            self.wanted.append(project)
            return None
        self.gave_up[project] = exc.message
        for check in self.waiting(project):  # like a region out of attempts: failed, retried
            self.held.discard(check)
            state.fail_held(check, exc.message)
        return None

    @staticmethod
    def _fill(state: WarmState, check: QuotaCheck, answer: QuotaAnswer | None) -> None:
        value = None if answer is None else value_for(check, answer)
        if value is None:  # regions.get and the family quota agree: not reported
            state.release(check)
        else:
            state.apply_quota(check, answer, value, now_iso())


def apply_answer(
    state: WarmState, families: FamilyStep, call: Call, answer: Any, *, family_source: bool
) -> None:
    """One call's answer fills every open check it answers (under the warmer's lock): a
    region's quotas, a QuotaInfo (None: the service has no such quota, told once a run), or
    the project's family quota for the GPU checks its regions did not report."""
    project, what = call
    if is_family_call(call):
        families.answered(state, project, answer, request_of(call))
    elif is_quota_call(call):
        state.apply_call(call, answer, now_iso())
        if answer is None:
            families.note(families.not_served(project, request_of(call)))
    else:
        filled = state.apply_region(project, what, answer, now_iso())
        if family_source:
            families.after_region(state, filled)
