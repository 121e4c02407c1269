"""What a batch's failures do to a round: which checks fail, which regions are not asked again,
which errors are told once, and how long rate limiting holds the next batch back.

Every method runs under the warmer's lock. Standard library only, like the warmer.
"""

from __future__ import annotations

from trayapp.sources.base import FATAL_KINDS, SourceError
from trayapp.warming.batch import Batch, Region
from trayapp.warming.calls import call_of, is_quota_call
from trayapp.warming.family_step import NOTICE_KINDS, FamilyStep
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
            for check in state.region_checks(project, region):
                state.apply_error(check, message, final=True)

    def record(
        self,
        batch: Batch,
        state: WarmState,
        *,
        round_: Round,
        families: FamilyStep,
        now: float,
        interval_s: float,
    ) -> list[SourceError]:
        """Record a batch's failures; returns the errors to report (each once per cycle)."""
        if batch.fatal is not None:  # no client at all: nothing of this round can be done
            self.give_up(state, None, batch.fatal)
            return self._once(batch.fatal)
        batch.notices += families.take_notices()
        if batch.family is not None:
            self._family(batch, state, families, now, interval_s)
            return []
        errors: list[SourceError] = []
        for key, exc in list(batch.failures.items()):
            open_checks = state.region_checks(*key)
            if is_quota_call(key) and exc.kind in NOTICE_KINDS and exc.kind != "auth":
                self._blocked(batch, state, families, key[0], exc)
                continue
            if exc.kind in FATAL_KINDS:  # credentials fail everything, permission a project
                self.give_up(state, None if exc.kind == "auth" else key[0], exc)
                errors += self._once(exc)
                continue
            if exc.kind == "not_found":  # a region that does not exist is not asked again
                self.missing[key] = exc.message
                final = True
            else:  # every check of the region shares the next attempt, later on
                mine = [c for c in batch.checks if call_of(c) == key]
                final = round_.failed_attempt(key, mine)
            for check in open_checks:
                state.apply_error(check, exc.message, final=final)
            if exc.kind == "rate_limited":
                self.backoff_until = now + self.backoff_ticks * interval_s
        return errors

    def _family(
        self, batch: Batch, state: WarmState, families: FamilyStep, now: float, interval_s: float
    ) -> None:
        """A failed family call: a notice (and the batch did not fail) or a retry later."""
        key = batch.regions[0]
        exc = batch.failures.get(key)
        if exc is None:
            return
        if exc.kind == "rate_limited":
            self.backoff_until = now + self.backoff_ticks * interval_s
        batch.notice = families.failed(state, key[0], exc)

    @staticmethod
    def _blocked(
        batch: Batch, state: WarmState, families: FamilyStep, project: str, exc: SourceError
    ) -> None:
        """Cloud Quotas cannot be read for ``project`` until a person mends it: every open
        check it answers fails with the fix for this round (unknown, never "not reported"),
        a notice says it once a run, and the round's retries ask again."""
        for check in state.checks:
            if check.project == project and check.service != "compute" and check not in state.done:
                state.apply_error(check, exc.message, final=True)
        batch.notice = families.block(state, project, exc)

    def _once(self, exc: SourceError) -> list[SourceError]:
        if exc.message in self.reported:
            return []
        self.reported.add(exc.message)
        return [exc]

    @staticmethod
    def give_up(state: WarmState, project: str | None, exc: SourceError) -> None:
        """Fail every open check of ``project`` (of every project when None) for this round."""
        for check in state.checks:
            if check not in state.done and project in (None, check.project):
                state.apply_error(check, exc.message, final=True)
