"""What a batch's failures do to a round: which checks fail, which calls are not asked again,
which errors are told once, and how long rate limiting holds the next batch back.

A failure stays in its lane: it fails the checks its call answers and no other. A region's
regions.get lane is the project's regions.get (a permission is the project's, not a region's);
projects.get and each Cloud Quotas call are lanes of their own. Only credentials, which every
call shares, fail everything. Every method runs under the warmer's lock. Standard library
only, like the warmer.
"""

from __future__ import annotations

from trayapp.sources.base import SourceError
from trayapp.warming.batch import Batch, Region
from trayapp.warming.calls import PROJECT, call_of, is_family_call, is_quota_call
from trayapp.warming.plan import QuotaCheck
from trayapp.warming.quota_calls import NOTICE_KINDS, QuotaCalls
from trayapp.warming.rounds import Round
from trayapp.warming.state import WarmState


class Failures:
    """The warmer's memory of failures across batches (and, for 404 regions, across cycles)."""

    def __init__(self, backoff_ticks: int) -> None:
        self.backoff_ticks = backoff_ticks
        self.missing: dict[Region, str] = {}  # regions that answered 404: not asked again
        self.reported: set[str] = set()  # errors told this cycle
        self.backoff_until = 0.0

    def new_cycle(self, state: WarmState) -> None:
        """Errors are told again; regions known not to exist fail at once, unasked."""
        self.reported.clear()
        for (project, region), message in self.missing.items():
            for check in state.call_checks((project, region)):
                state.apply_error(check, message, final=True)

    def record(
        self,
        batch: Batch,
        state: WarmState,
        *,
        round_: Round,
        quota_calls: QuotaCalls,
        now: float,
        interval_s: float,
    ) -> list[SourceError]:
        """Record a batch's failures; returns the errors to report (each once per cycle)."""
        if batch.fatal is not None:  # no client at all: nothing of this round can be done
            self.give_up(state, batch.fatal)
            return self._once(batch.fatal)
        batch.notices += quota_calls.take_notices()
        errors: list[SourceError] = []
        for key, exc in list(batch.failures.items()):
            if exc.kind == "rate_limited":
                self.backoff_until = now + self.backoff_ticks * interval_s
            if exc.kind == "auth":  # credentials: every call of every project shares them
                self.give_up(state, exc)
                errors += self._once(exc)
            elif is_family_call(key):
                spacing = max(len(round_.gpu), len(round_.c3))
                batch.notice = quota_calls.failed(
                    state, key, exc, picks=round_.picks, spacing=spacing
                )
            elif is_quota_call(key) and exc.kind in NOTICE_KINDS:
                batch.notice = quota_calls.block(state, key, exc)
            elif exc.kind == "permission":  # regions.get's permission is the project's
                for check in self._compute_lane(state, quota_calls, key):
                    state.apply_error(check, exc.message, final=True)
                errors += self._once(exc)
            elif exc.kind == "internal":  # a bug: asking again this round would repeat it
                for check in state.call_checks(key):
                    state.apply_error(check, exc.message, final=True)
            elif exc.kind == "not_found":  # a region that does not exist is not asked again
                self.missing[key] = exc.message
                for check in state.call_checks(key):
                    state.apply_error(check, exc.message, final=True)
            else:  # every check of the call shares the next attempt, later on
                open_checks = state.call_checks(key)
                final = round_.failed_attempt(key, open_checks)
                for check in open_checks:
                    state.apply_error(check, exc.message, final=final)
        return errors

    @staticmethod
    def _compute_lane(state: WarmState, quota_calls: QuotaCalls, key: Region) -> list[QuotaCheck]:
        """The open checks of the project that regions.get answers (not those a region has
        answered and the family call may still fill); projects.get is a lane of its own."""
        if key[1] == PROJECT:
            return state.call_checks(key)
        return [
            c
            for c in state.checks
            if c.project == key[0]
            and c not in state.done
            and c not in quota_calls.held
            and not is_quota_call(call := call_of(c))
            and call[1] != PROJECT
        ]

    def _once(self, exc: SourceError) -> list[SourceError]:
        if exc.message in self.reported:
            return []
        self.reported.add(exc.message)
        return [exc]

    @staticmethod
    def give_up(state: WarmState, exc: SourceError) -> None:
        """Fail every open check of every project for this round (credentials failed)."""
        for check in state.checks:
            if check not in state.done:
                state.apply_error(check, exc.message, final=True)
