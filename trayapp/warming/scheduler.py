"""The scheduler: a tick per interval, at most one batch at a time, re-warms on schedule.

A batch takes the next open GPU check and the next open C3 check and fetches their regions
concurrently. Within a round each (project, region) is asked at most ``max_attempts`` times,
and its answer fills every check of that region the moment it arrives. A fetch gets
``fetch_deadline_s`` for the whole answer; past it the region has timed out and the batch goes
on (``batch_runner``). A round that ends with failed checks is an error (never complete) and
its failed checks are retried on their own, with a back-off (``healing``). Network work runs on
daemon threads, so stop() returns at once even while a request hangs.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from typing import Any

from trayapp.sources.base import QuotaSource, SourceError
from trayapp.warming.batch import Batch
from trayapp.warming.batch_runner import BatchRunner
from trayapp.warming.engine import Engine, Timing
from trayapp.warming.events import Event, EventBus, Output, Progress, WarmEvent
from trayapp.warming.extras import Enrichment, Tail
from trayapp.warming.failures import Failures
from trayapp.warming.healing import Healing
from trayapp.warming.levels import Level, Thresholds
from trayapp.warming.metrics import Metrics
from trayapp.warming.plan import Plan
from trayapp.warming.schedule import Clock, RetryBackoff, TickSchedule, default_clock
from trayapp.warming.state import WarmState

__all__ = ["Batch", "Clock", "Warmer", "default_clock"]


class Warmer:
    """One scheduler thread and, at most, one batch thread; controls work from any thread.

    It holds its collaborators: the shared ``Engine`` state, a ``BatchRunner`` (the batch
    thread) and ``Healing`` (how a round ends and failed checks come back). Observers hear every
    event through ``bus``; ``output`` (the cache writer) says if the answers reached the file;
    ``clock`` and ``wall_clock`` are injectable: schedules and clock jumps tested without waiting;
    ``enrichments`` are asked at each round's end (``extras``)."""

    def __init__(
        self,
        plan: Plan,
        source: QuotaSource,
        bus: EventBus,
        *,
        interval_s: float = 2.0,
        rewarm_s: float = 1800.0,
        thresholds: Thresholds | None = None,
        clock: Clock = default_clock,
        wall_clock: Clock = time.time,
        max_attempts: int = 3,
        backoff_ticks: int = 5,
        skip_log_s: float = 60.0,
        fetch_deadline_s: float = 10.0,
        retry_first_s: float = 60.0,
        state: WarmState | None = None,
        output: Output | None = None,
        enrichments: Sequence[Enrichment] = (),
    ) -> None:
        self.source, self.bus = source, bus
        self.clock, self.wall_clock = clock, wall_clock
        self.max_attempts = max_attempts
        self.skip_log_s = skip_log_s
        self._engine = Engine(
            plan,
            state or WarmState(plan),
            Timing(interval_s, rewarm_s, thresholds or Thresholds(), fetch_deadline_s),
            Failures(backoff_ticks),
            RetryBackoff(retry_first_s),
            max_attempts,
        )
        self._lock = self._engine.lock
        self.metrics = Metrics()
        bus.subscribe(self.metrics)
        self._emit_lock = threading.RLock()
        tail = Tail(self._engine, source, enrichments, self._emit)
        self._healing = Healing(
            self._engine, source, clock, self._emit, self._emit_lock, output=output, tail=tail
        )
        self._runner = BatchRunner(self._engine, source, self._healing.finish)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._batch: threading.Thread | None = None
        self._cycle_wall = 0.0  # wall time the cycle began
        self._force = self._paused = self._closed = False
        self._skipped = 0
        self._last_skip_log = float("-inf")

    # -- what the engine knows, for the app and `status` ---------------------------------------
    @property
    def plan(self) -> Plan:
        return self._engine.plan

    @property
    def state(self) -> WarmState:
        return self._engine.state

    @property
    def level(self) -> Level | None:
        return self._engine.level

    @property
    def last_batch_ms(self) -> int | None:
        return self._engine.last_batch_ms

    def health(self) -> dict[str, Any]:  # what failed and what happens next, for `status`
        return self._healing.health()

    # -- controls, callable from any thread -------------------------------------------------
    def start(self, once: bool = False) -> None:
        """``once`` (`run --once`): no retry after the cycle; its end is no cancellation."""
        self._engine.once = once
        self._thread = threading.Thread(target=self._run, name="quota-warmer", daemon=True)
        self._thread.start()

    def force_rewarm(self) -> None:
        """Start a new cycle at the next tick (restarting a running one; never two at once)."""
        with self._lock:
            self._force = True
        if self.paused:
            self.resume()

    def pause(self) -> None:
        self._set_paused(True)
        self.source.release()  # as at a round's end: a paused warmer holds no fetcher

    def resume(self) -> None:
        self._set_paused(False)

    @property
    def paused(self) -> bool:
        return self._paused

    def progress(self) -> Progress:
        return Progress(*self.state.counts("gpu"), *self.state.counts("c3"))

    def reconfigure(
        self,
        plan: Plan,
        *,
        interval_s: float,
        rewarm_s: float,
        thresholds: Thresholds,
        fetch_deadline_s: float | None = None,
        notes: tuple[str, ...] = (),
    ) -> None:
        """Apply reloaded settings; a changed plan starts a new cycle, keeping known values."""
        e = self._engine
        with self._lock:
            e.timing.interval_s, e.timing.rewarm_s = interval_s, rewarm_s
            e.timing.thresholds = thresholds
            if fetch_deadline_s is not None:
                e.timing.fetch_deadline_s = fetch_deadline_s
            changed = e.replace_plan(plan, self._warmer_info())
            self._force = self._force or changed
        self._emit(WarmEvent.CONFIG_RELOADED, data={"plan_changed": changed, "notes": notes})

    def reject_config(self, message: str) -> None:
        """Tell the log and notifications that a reload was refused (warming goes on)."""
        self._emit(WarmEvent.CONFIG_REJECTED, message=message)

    def stop(self, timeout: float = 1.0) -> None:
        """Stop ticking without waiting for a hung request; CANCELLED (not after a finished
        --once cycle) and FINAL_STATS are the last events, ever."""
        with self._lock:
            if self._engine.stopping:
                return
            self._engine.stopping = True
            in_flight = self._batch is not None and self._batch.is_alive()
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)
        threading.Thread(target=self.source.close, name="quota-close", daemon=True).start()
        with self._emit_lock:
            if not (self._engine.once and self.state.complete):  # a --once run that ended
                self._emit(WarmEvent.CANCELLED, data={"in_flight": in_flight}, snapshot=True)
            stats = self.metrics.summary()
            stats["skipped"] += self._skipped
            self._emit(WarmEvent.FINAL_STATS, data=stats)
            self._closed = True

    # -- scheduler thread ----------------------------------------------------------------------
    def _run(self) -> None:
        with self._lock:
            self._start_cycle(self.clock())
        self._emit(
            WarmEvent.START,
            snapshot=True,
            data={
                "checks": len(self.plan),
                "projects": list(self.plan.projects),
                "interval_s": self._engine.timing.interval_s,
                "rewarm_s": self._engine.timing.rewarm_s,
            },
        )
        try:  # import the library and build the client before any batch is timed
            self.source.prepare()
        except SourceError as exc:
            self._healing.finish(Batch([], self._engine.round.number, fatal=exc))
        timing = self._engine.timing
        schedule = TickSchedule(timing.interval_s, self.clock())
        while not self._stop.wait(schedule.delay(self.clock())):
            self._tick()
            if schedule.interval_s != timing.interval_s:  # reconfigured: a new schedule from now
                schedule.restart(timing.interval_s, self.clock())
            else:
                schedule.ticked(self.clock())

    def _tick(self) -> None:
        self._healing.rewrite()  # a cache write that failed is tried again at every tick
        events: list[tuple[WarmEvent, dict[str, Any]]] = []
        with self._lock:
            e = self._engine
            if self._paused or e.stopping:
                return None
            now = self.clock()
            if self._batch is not None and self._batch.is_alive():
                return self._skip(now, "batch still running")
            if now < e.failures.backoff_until:
                return self._skip(now, "backing off after rate limiting")
            ended = self.state.complete
            overdue = self._overdue_s(now) if ended else None
            reason = "forced" if self._force else "granted" if e.reread else None
            reason = reason or (None if overdue is None else "periodic")  # a grant: read it now
            if reason:  # an unfinished cycle finishes first, then re-warms at once
                if reason == "forced":
                    e.failures.missing.clear()  # asked to look again: regions may exist
                self._force = False
                self._start_cycle(now)
                # a minute late means the data was served stale: a sleep, or a long pause
                stale = overdue is not None and overdue > max(60.0, 2 * e.timing.interval_s)
                events.append((WarmEvent.REWARM, {"reason": reason, "stale": stale}))
            elif ended:
                retry = self._healing.start_retry(now) if e.retry.is_due(now) else None
                if retry is None:
                    return self._skip(now, self._healing.idle_reason(now))
                events.append((WarmEvent.RETRY, retry))
            batch = e.next_batch()
            if not batch.checks:
                return None
            self._batch = threading.Thread(
                target=self._run_batch, args=(batch,), name="quota-batch", daemon=True
            )
        for kind, data in events:
            self._emit(kind, data=data, snapshot=True)
        self._batch.start()
        return None

    def _overdue_s(self, now: float) -> float | None:
        """How late the re-warm is (None: not due), by the warmer's clock or the wall clock:
        time.monotonic stands still while macOS and Windows sleep, and readers judge freshness
        by wall time. A wall clock set back never triggers; the warmer's clock still does."""
        age = max(now - self.state.cycle.started_clock, self.wall_clock() - self._cycle_wall)
        rewarm_s = self._engine.timing.rewarm_s
        return age - rewarm_s if age >= rewarm_s else None

    def _skip(self, now: float, reason: str) -> None:
        self._skipped += 1
        if now - self._last_skip_log >= self.skip_log_s:
            skipped, self._skipped, self._last_skip_log = self._skipped, 0, now
            threading.Thread(
                target=self._emit,
                args=(WarmEvent.SKIP,),
                daemon=True,
                kwargs={"data": {"skipped": skipped, "reason": reason}},
            ).start()

    def _start_cycle(self, now: float) -> None:
        self._engine.start_cycle(now)
        self._cycle_wall = self.wall_clock()

    def _run_batch(self, batch: Batch) -> None:
        self._runner.run(batch)

    def _set_paused(self, paused: bool) -> None:
        with self._lock:
            changed, self._paused = self._paused != paused, paused
        if changed:
            self._emit(WarmEvent.PAUSED, data={"paused": paused}, snapshot=True)

    def _emit(self, kind: WarmEvent, *, snapshot: bool = False, **fields: Any) -> None:
        with self._emit_lock:
            if self._closed:  # nothing after FINAL_STATS
                return
            with self._lock:
                doc = self.state.document(self._warmer_info()) if snapshot else None
                progress = self.progress()
                cycle = self.state.cycle.id
            self.bus.emit(Event(kind, cycle, progress, snapshot=doc, **fields))

    def _warmer_info(self) -> dict[str, Any]:
        return self._engine.warmer_info(self._paused)

    def max_age_s(self) -> float:  # how old an answer may be and still be fresh
        return self._engine.max_age_s()
