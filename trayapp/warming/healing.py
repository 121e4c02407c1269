"""The warmer's round ends: what a finished batch brings, and how a round ends.

A round ends when every check is done: complete (✅) when none failed, else an error (💥, never
complete) whose failed checks are retried on their own, first ``retry_first_s`` after the round
ends, then doubling, never longer apart than the re-warm period. A retry asks again only the
failed checks, and only of regions that exist. Standard library only, like the warmer.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from trayapp.warming.events import WarmEvent
from trayapp.warming.levels import Level

if TYPE_CHECKING:
    from trayapp.sources.base import QuotaSource
    from trayapp.warming.batch import Batch
    from trayapp.warming.failures import Failures
    from trayapp.warming.family_step import FamilyStep
    from trayapp.warming.levels import Thresholds
    from trayapp.warming.plan import Plan, QuotaCheck
    from trayapp.warming.rounds import Round
    from trayapp.warming.schedule import Clock, RetryBackoff
    from trayapp.warming.state import WarmState

MAX_REASONS = 3  # the first distinct reasons a failed round reports


class Healing:
    """The warmer's round-end half; ``Warmer`` provides the state it reads, ``_emit`` and
    ``_new_round``. Every method but ``_finish`` runs under the warmer's lock."""

    plan: Plan
    state: WarmState
    source: QuotaSource
    thresholds: Thresholds
    clock: Clock
    rewarm_s: float
    interval_s: float
    level: Level | None
    last_batch_ms: int | None
    _lock: threading.Lock
    _emit_lock: threading.RLock
    _stopping: bool
    _round: Round
    _families: FamilyStep
    _failures: Failures
    _retry: RetryBackoff
    _retries: int

    _emit: Callable[..., None]  # the warmer's: tells the observers
    _new_round: Callable[[float, tuple[QuotaCheck, ...], tuple[QuotaCheck, ...]], None]

    def health(self) -> dict[str, Any]:
        """What failed and what happens next, for `status`: counts, first reasons, retry."""
        with self._lock:
            failed = [c for c in self.state.failed() if c in self.state.done]
            reasons = [self.state.checks[c].error for c in failed]
            return {
                "failed": len(failed),
                "reasons": list(dict.fromkeys(reasons))[:MAX_REASONS],
                "retry_in_s": _rounded(self._retry.remaining(self.clock())),
                "not_found": sorted(f"{p}/{r}" for p, r in self._failures.missing),
            }

    def _finish(self, batch: Batch) -> None:
        """Record what ``batch`` brought, tell it, and end the round when every check is done."""
        with self._lock:
            if self._stopping or batch.round != self._round.number:
                return
            errors = self._failures.record(
                batch,
                self.state,
                round_=self._round,
                families=self._families,
                now=self.clock(),
                interval_s=self.interval_s,
            )
            level = self.thresholds.level(batch.elapsed_ms) if batch.timed else None
            if level is not None:
                self.level, self.last_batch_ms = level, batch.elapsed_ms
            ended = self._end_round() if self.state.complete else None
        with self._emit_lock:
            for exc in errors:
                self._emit(WarmEvent.ERROR, message=exc.message, error_kind=exc.kind, snapshot=True)
            if batch.notice is not None:
                self._emit(
                    WarmEvent.NOTICE, message=batch.notice.message, error_kind=batch.notice.kind
                )
            if batch.timed:
                self._emit(
                    batch.kind(level),
                    elapsed_ms=batch.elapsed_ms,
                    level=level,
                    snapshot=True,
                    **batch.describe(),
                )
            if ended is not None:
                kind, data = ended
                self._emit(kind, snapshot=True, level=self.level, data=data)
        if ended is not None:  # the round is over: the source may free what it holds
            self.source.release()

    def _end_round(self) -> tuple[WarmEvent, dict[str, Any]]:
        """Every check is done: complete when none failed, else an error with a retry."""
        failed = self.state.failed()
        now = self.clock()
        data: dict[str, Any] = {
            "failed": len(failed),
            "api_calls": self._round.calls,
            "duration_s": round(now - self._round.started, 1),
            "checks": len(self.plan),
        }
        if not failed:
            self.level = Level.COMPLETE
            self._retry.reset()
            return WarmEvent.COMPLETE, {**data, "retries": self._retries}
        self.level = Level.ERROR
        retryable = any((c.project, c.region) not in self._failures.missing for c in failed)
        reasons = [self.state.checks[c].error for c in failed]
        return WarmEvent.INCOMPLETE, {
            **data,
            "reasons": list(dict.fromkeys(reasons))[:MAX_REASONS],
            "retry_in_s": _rounded(self._retry.failed(now, self.rewarm_s) if retryable else None),
        }

    def _start_retry(self, now: float) -> dict[str, Any] | None:
        """Open the failed checks again, but not those of regions that do not exist."""
        missing = self._failures.missing
        failed = [c for c in self.state.failed() if (c.project, c.region) not in missing]
        if not failed:
            self._retry.reset()
            return None
        self.state.reopen(failed)
        wanted = set(failed)
        self._new_round(
            now,
            tuple(c for c in self.plan.gpu if c in wanted),
            tuple(c for c in self.plan.c3 if c in wanted),
        )
        self._retries += 1
        regions = {(c.project, c.region) for c in failed}
        return {"failed": len(failed), "regions": len(regions), "attempt": self._retries}

    def _idle_reason(self, now: float) -> str:
        failed = len(self.state.failed())
        if not failed:
            return "cache is warm"
        wait = self._retry.remaining(now)
        if wait is None:
            return f"{failed} failed checks wait for a config change or a re-warm"
        return f"{failed} failed checks, retrying in {wait:.0f} s"


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 1)
