"""The scheduler: a tick per interval, at most one batch at a time, re-warms on schedule.

A batch takes the next GPU check and the next C3 check and fetches them concurrently. Within a
cycle each (project, region) is fetched once: every check of that region, including one whose
fetch is still in flight, shares the answer. Network work runs on daemon threads, so stop()
returns at once even while a request hangs.
"""

from __future__ import annotations

import os
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from trayapp.cache import Snapshot, now_iso
from trayapp.events import Event, EventBus, Progress, WarmEvent
from trayapp.levels import Level, Thresholds
from trayapp.metrics import Metrics
from trayapp.plan import Plan, QuotaCheck
from trayapp.sources.base import FATAL_KINDS, QuotaSource, RegionQuotas, SourceError
from trayapp.state import WarmState

Clock = Callable[[], float]


@dataclass
class Batch:
    """One tick's work and what came of it."""

    checks: list[QuotaCheck]
    cycle: int
    fatal: SourceError | None = None  # the client could not even be built
    results: list[tuple[QuotaCheck, RegionQuotas]] = field(default_factory=list)
    failures: dict[QuotaCheck, SourceError] = field(default_factory=dict)
    elapsed_ms: int = 0
    api_calls: int = 0

    @property
    def timed(self) -> bool:
        return bool(self.checks) and self.fatal is None

    def kind(self, level: Level | None) -> WarmEvent:
        if self.failures:
            return WarmEvent.BATCH_FAIL
        return WarmEvent.BATCH_WARM if level is Level.FIRE else WarmEvent.BATCH_SLOW

    def describe(self) -> dict[str, Any]:
        first = next(iter(self.failures.values()), None)
        return {
            "message": first.message if first else "",
            "error_kind": first.kind if first else None,
            "data": {
                "checks": [f"{c.kind}:{c.project}/{c.region}/{c.metric}" for c in self.checks],
                "failed": [f"{c.kind}:{c.region}/{c.metric}" for c in self.failures],
                "api_calls": self.api_calls,
            },
        }


if hasattr(time, "CLOCK_BOOTTIME"):

    def default_clock() -> float:
        """Monotonic and counting suspend, so a laptop's sleep counts toward re-warm."""
        return time.clock_gettime(time.CLOCK_BOOTTIME)

else:  # macOS, Windows: the wall-clock age of a cycle covers sleep there (see _overdue_s)
    default_clock = time.monotonic


class Warmer:
    """One scheduler thread and, at most, one batch thread; controls work from any thread.

    Observers hear every event through ``bus``; ``clock`` and ``wall_clock`` are injectable so
    schedules, clock jumps and sleep are tested without waiting.
    """

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
        state: WarmState | None = None,
    ) -> None:
        self.plan, self.source, self.bus = plan, source, bus
        self.interval_s, self.rewarm_s = interval_s, rewarm_s
        self.thresholds = thresholds or Thresholds()
        self.clock, self.wall_clock = clock, wall_clock
        self._cycle_wall = 0.0  # wall time the cycle began
        self.max_attempts, self.backoff_ticks, self.skip_log_s = (
            max_attempts,
            backoff_ticks,
            skip_log_s,
        )
        self.state = state or WarmState(plan)
        self.metrics = Metrics()
        bus.subscribe(self.metrics)
        self._lock = threading.Lock()
        self._emit_lock = threading.RLock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._batch: threading.Thread | None = None
        self._gpu: deque[QuotaCheck] = deque()
        self._c3: deque[QuotaCheck] = deque()
        self._attempts: Counter[QuotaCheck] = Counter()
        self._fetches: dict[tuple[str, str], Future[RegionQuotas]] = {}
        self._cycle_calls = 0
        self._cycle_failed = 0
        self._reported: set[str] = set()
        self._force = self._paused = self._stopping = False
        self._backoff_until = 0.0
        self._skipped = 0
        self._last_skip_log = float("-inf")
        self.level: Level | None = None
        self.last_batch_ms: int | None = None

    # -- controls, callable from any thread -------------------------------------------------
    def start(self) -> None:
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

    def resume(self) -> None:
        self._set_paused(False)

    @property
    def paused(self) -> bool:
        return self._paused

    def progress(self) -> Progress:
        return Progress(*self.state.counts("gpu"), *self.state.counts("c3"))

    def reconfigure(
        self, plan: Plan, *, interval_s: float, rewarm_s: float, thresholds: Thresholds
    ) -> None:
        """Apply reloaded settings; a changed plan starts a new cycle, keeping known values."""
        with self._lock:
            self.interval_s, self.rewarm_s, self.thresholds = interval_s, rewarm_s, thresholds
            if plan == self.plan:
                return
            old = Snapshot(self.state.document(self._warmer_info()))
            self.plan, self.state = plan, WarmState(plan)
            self.state.seed(old)
            self._force = True

    def reject_config(self, message: str) -> None:
        """Tell the log and notifications that a reload was refused (warming goes on)."""
        self._emit(WarmEvent.CONFIG_REJECTED, message=message)

    def stop(self, timeout: float = 1.0) -> None:
        """Stop ticking without waiting for a hung request; emits CANCELLED and FINAL_STATS."""
        with self._lock:
            if self._stopping:
                return
            self._stopping = True
            in_flight = self._batch is not None and self._batch.is_alive()
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)
        threading.Thread(target=self.source.close, name="quota-close", daemon=True).start()
        with self._emit_lock:
            self._emit(WarmEvent.CANCELLED, data={"in_flight": in_flight}, snapshot=True)
            stats = self.metrics.summary()
            stats["skipped"] += self._skipped
            self._emit(WarmEvent.FINAL_STATS, data=stats)

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
                "interval_s": self.interval_s,
                "rewarm_s": self.rewarm_s,
            },
        )
        try:  # import the library and build the client before any batch is timed
            self.source.prepare()
        except SourceError as exc:
            self._finish(Batch([], self.state.cycle.id, fatal=exc))
        start, n, interval = self.clock(), 0, self.interval_s
        while not self._stop.wait(max(0.0, start + n * interval - self.clock())):
            self._tick()
            if interval != self.interval_s:  # reconfigured: a new schedule from now
                start, n, interval = self.clock(), 1, self.interval_s
                continue
            n = max(n + 1, int((self.clock() - start) / interval) + 1)  # skip missed ticks

    def _tick(self) -> None:
        events: list[tuple[WarmEvent, dict[str, Any]]] = []
        with self._lock:
            if self._paused or self._stopping:
                return None
            now = self.clock()
            if self._batch is not None and self._batch.is_alive():
                return self._skip(now, "batch still running")
            if now < self._backoff_until:
                return self._skip(now, "backing off after rate limiting")
            overdue = self._overdue_s(now) if self.state.complete else None
            reason = "forced" if self._force else None if overdue is None else "periodic"
            if reason:  # an unfinished cycle finishes first, then re-warms at once
                self._force = False
                self._start_cycle(now)
                # a minute late means the data was served stale: a sleep, or a long pause
                stale = overdue is not None and overdue > max(60.0, 2 * self.interval_s)
                events.append((WarmEvent.REWARM, {"reason": reason, "stale": stale}))
            elif self.state.complete:
                return self._skip(now, "cache is warm")
            checks = [q.popleft() for q in (self._gpu, self._c3) if q]
            cycle = self.state.cycle.id
            self._batch = threading.Thread(
                target=self._run_batch, args=(checks, cycle), name="quota-batch", daemon=True
            )
        for kind, data in events:
            self._emit(kind, data=data, snapshot=True)
        self._batch.start()
        return None

    def _overdue_s(self, now: float) -> float | None:
        """How late the re-warm is, or None when it is not due yet.

        By the warmer's clock, or by the wall clock: time.monotonic stands still while macOS
        and Windows sleep, and readers judge freshness by wall time. A wall clock set back makes
        the age negative, which never triggers; the warmer's clock still does."""
        age = max(now - self.state.cycle.started_clock, self.wall_clock() - self._cycle_wall)
        return age - self.rewarm_s if age >= self.rewarm_s else None

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
        self.state.new_cycle(now)
        self._cycle_wall = self.wall_clock()
        self._gpu, self._c3 = deque(self.plan.gpu), deque(self.plan.c3)
        self._attempts.clear()
        self._fetches.clear()
        self._reported.clear()
        self._cycle_calls = self._cycle_failed = 0
        self._backoff_until = 0.0

    # -- batch thread ----------------------------------------------------------------------------
    def _run_batch(self, checks: list[QuotaCheck], cycle: int) -> None:
        batch = Batch(checks, cycle)
        try:
            self.source.prepare()  # a no-op once done; retried after a credentials failure
        except SourceError as exc:
            batch.fatal = exc
            self._finish(batch)
            return
        calls_before = self._cycle_calls
        started = time.perf_counter()
        pending = [(c, self._fetch(c.project, c.region)) for c in checks]
        for check, future in pending:
            exc = future.exception()
            if exc is None:
                batch.results.append((check, future.result()))
            else:
                batch.failures[check] = (
                    exc
                    if isinstance(exc, SourceError)
                    else SourceError("bad_response", f"unexpected {type(exc).__name__}")
                )
        batch.elapsed_ms = round((time.perf_counter() - started) * 1000)
        batch.api_calls = self._cycle_calls - calls_before
        self._finish(batch)

    def _fetch(self, project: str, region: str) -> Future[RegionQuotas]:
        key = (project, region)
        with self._lock:
            future = self._fetches.get(key)
            if future is not None:
                return future
            future = self._fetches[key] = Future()
            self._cycle_calls += 1
        threading.Thread(
            target=self._do_fetch, args=(key, future), daemon=True, name=f"quota-fetch-{region}"
        ).start()
        return future

    def _do_fetch(self, key: tuple[str, str], future: Future[RegionQuotas]) -> None:
        try:
            future.set_result(self.source.fetch(*key))
        except BaseException as exc:  # handed to the batch, which reports it
            with self._lock:
                if self._fetches.get(key) is future:
                    del self._fetches[key]  # a retry fetches again
            future.set_exception(exc)

    def _finish(self, batch: Batch) -> None:
        with self._lock:
            if self._stopping or batch.cycle != self.state.cycle.id:
                return
            errors = self._apply(batch)
            level = self.thresholds.level(batch.elapsed_ms) if batch.timed else None
            if level is not None:
                self.level, self.last_batch_ms = level, batch.elapsed_ms
            complete = self.state.complete
            if complete:
                self.level = Level.COMPLETE
            duration = self.clock() - self.state.cycle.started_clock
            stats = {"failed": self._cycle_failed, "api_calls": self._cycle_calls}
        with self._emit_lock:
            for exc in errors:
                self._emit(WarmEvent.ERROR, message=exc.message, error_kind=exc.kind, snapshot=True)
            if batch.timed:
                self._emit(
                    batch.kind(level),
                    elapsed_ms=batch.elapsed_ms,
                    level=level,
                    snapshot=True,
                    **batch.describe(),
                )
            if complete:
                self._emit(
                    WarmEvent.COMPLETE,
                    snapshot=True,
                    level=Level.COMPLETE,
                    data={**stats, "duration_s": round(duration, 1), "checks": len(self.plan)},
                )

    def _apply(self, batch: Batch) -> list[SourceError]:
        """Record a batch's outcome (under the lock); returns errors to report once."""
        errors: list[SourceError] = []
        fetched_at = now_iso()
        for check, quotas in batch.results:
            self.state.apply_ok(check, quotas, fetched_at)
        failures = dict(batch.failures)
        if batch.fatal is not None:
            failures = dict.fromkeys(self.state.checks, batch.fatal)
        for check, exc in failures.items():
            if check in self.state.done:
                continue
            if exc.kind in FATAL_KINDS or exc is batch.fatal:
                self._give_up(check, exc, everything=exc is batch.fatal or exc.kind == "auth")
                if exc.message not in self._reported:
                    self._reported.add(exc.message)
                    errors.append(exc)
                continue
            self._attempts[check] += 1
            final = self._attempts[check] >= self.max_attempts
            self.state.apply_error(check, exc.message, final=final)
            self._cycle_failed += final
            if not final:  # retried later in this cycle
                (self._gpu if check.kind == "gpu" else self._c3).append(check)
            if exc.kind == "rate_limited":
                self._backoff_until = self.clock() + self.backoff_ticks * self.interval_s
        return errors

    def _give_up(self, failed: QuotaCheck, exc: SourceError, *, everything: bool) -> None:
        """Credentials fail everything; a missing permission fails that project."""
        for check in self.state.checks:
            if check in self.state.done or not (everything or check.project == failed.project):
                continue
            self.state.apply_error(check, exc.message, final=True)
            self._cycle_failed += 1
        self._gpu = deque(c for c in self._gpu if c not in self.state.done)
        self._c3 = deque(c for c in self._c3 if c not in self.state.done)

    def _set_paused(self, paused: bool) -> None:
        with self._lock:
            changed, self._paused = self._paused != paused, paused
        if changed:
            self._emit(WarmEvent.PAUSED, data={"paused": paused}, snapshot=True)

    def _emit(self, kind: WarmEvent, *, snapshot: bool = False, **fields: Any) -> None:
        with self._emit_lock:
            with self._lock:
                doc = self.state.document(self._warmer_info()) if snapshot else None
                progress = self.progress()
                cycle = self.state.cycle.id
            self.bus.emit(Event(kind, cycle, progress, snapshot=doc, **fields))

    def _warmer_info(self) -> dict[str, Any]:
        return {
            "pid": os.getpid(),
            "level": self.level.value if self.level else None,
            "last_batch_ms": self.last_batch_ms,
            "paused": self._paused,
        }
