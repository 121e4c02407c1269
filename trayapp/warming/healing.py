"""The warmer's round ends: what a finished batch brings, and how a round ends.

A round ends when every check is done: complete (✅) when none failed, else an error (💥, never
complete) whose failed checks are retried on their own, first ``retry_first_s`` after the round
ends, then doubling, never longer apart than the re-warm period. A retry asks again only the
failed checks, and only of regions that exist. Standard library only, like the warmer.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from trayapp.warming.events import WarmEvent
from trayapp.warming.levels import Level

if TYPE_CHECKING:
    from trayapp.sources.base import QuotaSource
    from trayapp.warming.batch import Batch
    from trayapp.warming.engine import Emit, Engine
    from trayapp.warming.schedule import Clock

MAX_REASONS = 3  # the first distinct reasons a failed round reports


class Healing:
    """How rounds end and failed checks come back. ``finish`` takes the engine's lock itself;
    the other methods are called with it held."""

    def __init__(
        self,
        engine: Engine,
        source: QuotaSource,
        clock: Clock,
        emit: Emit,
        emit_lock: threading.RLock,
    ) -> None:
        self._engine, self._source, self._clock = engine, source, clock
        self._emit, self._emit_lock = emit, emit_lock

    def health(self) -> dict[str, Any]:
        """What failed and what happens next, for `status`: counts, first reasons, retry."""
        e = self._engine
        with e.lock:
            failed = [c for c in e.state.failed() if c in e.state.done]
            reasons = [e.state.checks[c].error for c in failed]
            return {
                "failed": len(failed),
                "reasons": list(dict.fromkeys(reasons))[:MAX_REASONS],
                "retry_in_s": _rounded(e.retry.remaining(self._clock())),
                "not_found": sorted(f"{p}/{r}" for p, r in e.failures.missing),
            }

    def finish(self, batch: Batch) -> None:
        """Record what ``batch`` brought, tell it, and end the round when every check is done."""
        e = self._engine
        with e.lock:
            if e.stopping or batch.round != e.round.number:
                return
            e.round.calls += batch.api_calls
            errors = e.failures.record(
                batch,
                e.state,
                round_=e.round,
                quota_calls=e.quota_calls,
                now=self._clock(),
                interval_s=e.timing.interval_s,
            )
            level = e.timing.thresholds.level(batch.elapsed_ms) if batch.timed else None
            if level is not None:
                e.level, e.last_batch_ms = level, batch.elapsed_ms
            ended = self.end_round() if e.state.complete else None
        with self._emit_lock:
            for exc in errors:
                self._emit(WarmEvent.ERROR, message=exc.message, error_kind=exc.kind, snapshot=True)
            for notice in batch.notices:
                self._emit(WarmEvent.NOTICE, message=notice.message, error_kind=notice.kind)
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
                self._emit(kind, snapshot=True, level=e.level, data=data)
        if ended is not None:  # the round is over: the source may free what it holds
            self._source.release()

    def end_round(self) -> tuple[WarmEvent, dict[str, Any]]:
        """Every check is done: complete when none failed, else an error with a retry."""
        e = self._engine
        failed = e.state.failed()
        now = self._clock()
        data: dict[str, Any] = {
            "failed": len(failed),
            "api_calls": e.round.calls,
            "duration_s": round(now - e.round.started, 1),
            "checks": len(e.plan),
        }
        if e.once:
            data["once"] = True  # the run ends here: nothing is promised after it
        if not failed:
            e.level = Level.COMPLETE
            e.retry.reset()
            return WarmEvent.COMPLETE, {**data, "retries": e.retries}
        e.level = Level.ERROR
        retryable = not e.once and any(
            (c.project, c.region) not in e.failures.missing for c in failed
        )
        reasons = [e.state.checks[c].error for c in failed]
        return WarmEvent.INCOMPLETE, {
            **data,
            "reasons": list(dict.fromkeys(reasons))[:MAX_REASONS],
            "retry_in_s": _rounded(e.retry.failed(now, e.timing.rewarm_s) if retryable else None),
        }

    def start_retry(self, now: float) -> dict[str, Any] | None:
        """Open the failed checks again, but not those of regions that do not exist."""
        e = self._engine
        missing = e.failures.missing
        failed = [c for c in e.state.failed() if (c.project, c.region) not in missing]
        if not failed:
            e.retry.reset()
            return None
        e.state.reopen(failed)
        wanted = set(failed)
        e.new_round(
            now,
            tuple(c for c in e.plan.gpu if c in wanted),
            tuple(c for c in e.plan.c3 if c in wanted),
        )
        e.retries += 1
        regions = {(c.project, c.region) for c in failed}
        return {"failed": len(failed), "regions": len(regions), "attempt": e.retries}

    def idle_reason(self, now: float) -> str:
        e = self._engine
        failed = len(e.state.failed())
        if not failed:
            return "cache is warm"
        wait = e.retry.remaining(now)
        if wait is None:
            return f"{failed} failed checks wait for a config change or a re-warm"
        return f"{failed} failed checks, retrying in {wait:.0f} s"


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 1)
