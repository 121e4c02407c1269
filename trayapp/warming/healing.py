"""The warmer's round ends: what a finished batch brings, and how a round ends.

A round ends when every check is done: complete (✅) when none failed and its answers reached
the cache file, else an error (💥, never complete). Failed checks are retried on their own, first
``retry_first_s`` after the round ends, then doubling, never longer apart than the re-warm
period; a retry asks again only the failed checks, and only of regions that exist. A write that
failed is tried again at every tick. Standard library only, like the warmer.
"""

from __future__ import annotations

import threading
from collections import Counter
from typing import TYPE_CHECKING, Any

from trayapp.warming.events import WarmEvent
from trayapp.warming.levels import Level

if TYPE_CHECKING:
    from trayapp.sources.base import QuotaSource
    from trayapp.warming.batch import Batch
    from trayapp.warming.engine import Emit, Engine
    from trayapp.warming.events import Output
    from trayapp.warming.extras import Tail
    from trayapp.warming.schedule import Clock

MAX_REASONS = 3  # the first distinct reasons a failed round reports
MAX_COUNTED = 20  # the distinct reasons a failed round counts, most checks first


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
        *,
        output: Output | None = None,
        tail: Tail | None = None,
    ) -> None:
        self._engine, self._source, self._clock = engine, source, clock
        self._emit, self._emit_lock = emit, emit_lock
        self._output = output  # the cache file: a round whose answers it lacks is not complete
        self.tail = tail  # the enrichments asked at a round's end, before it is declared

    def unwritten(self) -> str | None:
        """Why the answers did not reach the cache file, or None when they did."""
        return None if self._output is None else self._output.failing

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
                "unwritten": self.unwritten(),
                "enrichments": e.state.extras.failing(),
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
            over = e.state.complete
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
        if over and self.tail is not None:  # on this batch thread: no tick starts meanwhile
            self.tail.run(batch.round)
        with self._emit_lock:
            # decided once the batch's answers went to the cache file: was it written?
            ended = self._end(batch.round) if over else None
            if ended is not None:
                kind, data = ended
                self._emit(kind, snapshot=True, level=e.level, data=data)
        if ended is not None:  # the round is over: the source may free what it holds
            self._source.release()

    def _end(self, number: int) -> tuple[WarmEvent, dict[str, Any]] | None:
        e = self._engine
        with e.lock:
            if e.stopping or number != e.round.number or not e.state.complete:
                return None  # stopped, or a reload replaced the round meanwhile
            return self.end_round()

    def end_round(self) -> tuple[WarmEvent, dict[str, Any]]:
        """Every check is done: complete when none failed and the answers reached the cache
        file, else an error with a retry."""
        e = self._engine
        failed = e.state.failed()
        now = self._clock()
        unwritten = self.unwritten()
        data = self._totals(now)
        if not failed and unwritten is None:
            e.level = Level.COMPLETE
            e.retry.reset()
            return WarmEvent.COMPLETE, data
        e.level = Level.ERROR
        retryable = not e.once and any(
            (c.project, c.region) not in e.failures.missing for c in failed
        )
        retry = e.retry.failed(now, e.timing.rewarm_s) if retryable else None
        if retry is None and unwritten is not None and not e.once:
            retry = e.timing.interval_s  # the write is tried again at the next tick
        reasons = [str(e.state.checks[c].error) for c in failed]
        counted = Counter(reasons).most_common(MAX_COUNTED)
        return WarmEvent.INCOMPLETE, {
            **data,
            "reasons": list(dict.fromkeys(reasons))[:MAX_REASONS],
            "reason_counts": [[reason, n] for reason, n in counted],
            "retry_in_s": _rounded(retry),
            **({"unwritten": unwritten} if unwritten is not None else {}),
        }

    def _totals(self, now: float) -> dict[str, Any]:
        e = self._engine
        data: dict[str, Any] = {
            "failed": len(e.state.failed()),
            "api_calls": e.round.calls,
            "duration_s": round(now - e.round.started, 1),
            "checks": len(e.plan),
            "retries": e.retries,
        }
        if e.round.extra_calls:  # usage, capacity advice, quota requests
            data["enrichment_calls"] = e.round.extra_calls
        if e.once:
            data["once"] = True  # the run ends here: nothing is promised after it
        return data

    def rewrite(self) -> None:
        """At a tick: a write that failed is tried again; when it works and only the write
        kept the round from being complete, the round is complete now (✅, back to normal)."""
        output, e = self._output, self._engine
        if output is None or output.failing is None or e.once:
            return
        with self._emit_lock:
            if output.retry() is not None:
                return
            with e.lock:
                healed = (
                    e.level is Level.ERROR
                    and not e.stopping
                    and e.state.complete
                    and not e.state.failed()
                )
                if healed:
                    e.level = Level.COMPLETE
                    e.retry.reset()
                    data = self._totals(self._clock())
            if healed:
                self._emit(WarmEvent.COMPLETE, snapshot=True, level=e.level, data=data)

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
            tuple(c for c in e.plan.gpu + e.plan.extra if c in wanted),
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
