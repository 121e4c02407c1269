"""The bookkeeping of every Cloud Quotas call, kept per call key, never per project.

A Cloud Quotas call (a GPU type's Vertex AI quota, the Cloud Build list, a project's Compute GPU
family quota) answers a set of checks; its failures fail exactly those checks. A failure a
person must mend (permission missing, API disabled, QuotaInfo not served) blocks that call for
the round and is told once per run; other failures are retried within the round's budget,
spaced like region retries, then fail the call's checks like any failed fetch. A QuotaInfo that
does not exist leaves its checks not reported, told once per run.

The family call is asked for what regions.get did not report: a Compute GPU check whose region
answered without its metric is held open while the family quota may still answer it, and the
answer is kept for the rest of the cycle, so regions that answer later are filled at once.
Standard library only, like the warmer.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from trayapp.cache import now_iso
from trayapp.sources.base import SourceError
from trayapp.sources.compute_family import family_of
from trayapp.sources.quota_rule import QuotaAnswer
from trayapp.warming.calls import (
    Call,
    describe,
    family_call,
    is_family_call,
    is_quota_call,
    request_of,
    value_for,
)
from trayapp.warming.plan import QuotaCheck
from trayapp.warming.state import WarmState

# Failures a person must mend: the call's checks fail with the fix, warming goes on, told once.
NOTICE_KINDS = frozenset({"auth", "permission", "not_found"})


class QuotaCalls:
    """Per-cycle state of the Cloud Quotas calls; every method runs under the warmer's lock."""

    def __init__(self, max_attempts: int = 3) -> None:
        self.max_attempts = max_attempts
        self.told: set[tuple[str, str]] = set()  # (project, what was said) given this run
        self.pending: list[SourceError] = []  # notices for the next finished batch to give
        self.new_cycle()

    def new_cycle(self) -> None:
        self.answers: dict[Call, QuotaAnswer | None] = {}  # family calls answered this cycle
        self.blocked: dict[Call, str] = {}  # call -> why it cannot be read this round
        self.refused: set[str] = set()  # projects Cloud Quotas refused (login, permission)
        self.gave_up: dict[Call, str] = {}  # call -> last failure, once out of attempts
        self.held: set[QuotaCheck] = set()
        self.wanted: list[Call] = []
        self.in_flight: set[Call] = set()
        self.attempts: Counter[Call] = Counter()
        self.not_before: dict[Call, int] = {}  # a failed family call waits for this many picks

    def new_round(self) -> None:
        """A retry round gets a fresh budget of attempts, and asks a blocked call again."""
        self.attempts.clear()
        self.gave_up.clear()
        self.blocked.clear()
        self.refused.clear()
        self.not_before.clear()

    # -- the family call ------------------------------------------------------------------------
    def after_region(self, state: WarmState, filled: list[QuotaCheck]) -> None:
        """A region answered: its unreported GPU metrics are filled, or held for the call."""
        for check in filled:
            if family_of(check.metric) is None or state.checks[check].status != "absent":
                continue
            call = family_call(check.project, check.tier)
            if call in self.answers:
                _fill(state, check, self.answers[call])
            elif call in self.gave_up:  # no more calls this round: failed, retried later
                state.fail_held(check, self.gave_up[call])
            elif call in self.blocked:  # unknown, not "not reported": failed with the fix
                state.fail_held(check, self.blocked[call])
            else:
                state.hold(check)
                self.held.add(check)
                if call not in self.wanted and call not in self.in_flight:
                    self.wanted.append(call)

    def due(self, picks: int, queued: bool) -> Call | None:
        """The family call the next tick should make, if any: a failed one waits until the
        checks queued when it failed have had their turn (``picks``), as a region's retry does,
        unless nothing else is ``queued``."""
        for call in self.wanted:
            if call not in self.in_flight and (not queued or picks >= self.not_before.get(call, 0)):
                return call
        return None

    def waiting(self, call: Call) -> list[QuotaCheck]:
        project, tier = call[0], call[1].split(":", 1)[1]
        held = [c for c in self.held if c.project == project and c.tier == tier]
        return sorted(held, key=lambda c: (c.metric, c.region))

    def started(self, call: Call) -> None:
        self.wanted.remove(call)
        self.in_flight.add(call)

    def answered(self, state: WarmState, call: Call, answer: QuotaAnswer | None) -> None:
        self.in_flight.discard(call)
        self.answers[call] = answer
        if answer is None:
            self.note(self.not_served(call))
        for check in self.waiting(call):
            self.held.discard(check)
            _fill(state, check, answer)

    def failed(
        self, state: WarmState, call: Call, exc: SourceError, *, picks: int, spacing: int
    ) -> SourceError | None:
        """A failed family call; returns the notice to give (once per run), if any. Another
        attempt waits ``spacing`` picks, the way a failed region goes to the back of the queue."""
        self.in_flight.discard(call)
        if exc.kind in NOTICE_KINDS:
            return self.block(state, call, exc)
        self.attempts[call] += 1
        if self.attempts[call] < self.max_attempts:
            self.wanted.append(call)
            self.not_before[call] = picks + spacing
            return None
        self.gave_up[call] = exc.message
        for check in self.waiting(call):  # like a region out of attempts: failed, retried
            self.held.discard(check)
            state.fail_held(check, exc.message)
        return None

    # -- every Cloud Quotas call ----------------------------------------------------------------
    def block(self, state: WarmState, call: Call, exc: SourceError) -> SourceError | None:
        """A failure a person must mend: the checks ``call`` answers fail with it for this
        round (unknown, never "not reported"); returns the notice to give (once per run)."""
        self.blocked[call] = exc.message
        if exc.kind != "not_found":  # the project's every Cloud Quotas call would be refused
            self.refused.add(call[0])
        if call in self.wanted:
            self.wanted.remove(call)
        for check in self.waiting(call) if is_family_call(call) else state.call_checks(call):
            self.held.discard(check)
            state.fail_held(check, exc.message)
        return self.tell(call, exc)

    def note(self, notice: SourceError | None) -> None:
        """Keep a notice for the next finished batch to give."""
        if notice is not None:
            self.pending.append(notice)

    def take_notices(self) -> list[SourceError]:
        taken, self.pending = self.pending, []
        return taken

    def tell(self, call: Call, notice: SourceError) -> SourceError | None:
        """``notice`` the first time this run, else None. Calls of one project failing the same
        way (the API disabled for every GPU type) are told once: what follows the call's own
        name in the message is what is compared."""
        gist = notice.message.removeprefix(f"{describe(call)}: ")
        if (call[0], gist) in self.told:
            return None
        self.told.add((call[0], gist))
        return notice

    def not_served(self, call: Call) -> SourceError | None:
        """The notice for a QuotaInfo the service does not have (once per run)."""
        request = request_of(call)
        return self.tell(
            call,
            SourceError(
                "not_found",
                f"project {call[0]}: {request.service} serves no quota {request.metric}; "
                "its checks are not reported",
            ),
        )


def _fill(state: WarmState, check: QuotaCheck, answer: QuotaAnswer | None) -> None:
    if check not in state.checks:  # the plan changed while the call was in flight
        return
    value = None if answer is None else value_for(check, answer)
    if value is None:  # regions.get and the family quota agree: not reported
        state.release(check)
    else:
        state.apply_quota(check, answer, value, now_iso())


def apply_answer(
    state: WarmState, quota_calls: QuotaCalls, call: Call, answer: Any, *, family_source: bool
) -> None:
    """One call's answer fills every open check it answers (under the warmer's lock): a
    region's quotas, a QuotaInfo (None: the service has no such quota, told once a run), or
    the project's family quota for the GPU checks its regions did not report."""
    project, what = call
    if is_family_call(call):
        quota_calls.answered(state, call, answer)
    elif is_quota_call(call):
        state.apply_call(call, answer, now_iso())
        if answer is None:
            quota_calls.note(quota_calls.not_served(call))
    else:
        filled = state.apply_region(project, what, answer, now_iso())
        if family_source:
            quota_calls.after_region(state, filled)
