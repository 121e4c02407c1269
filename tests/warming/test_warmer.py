"""Scheduling logic of the warmer, against a scripted source."""

from __future__ import annotations

import itertools
import threading
import time

import pytest
from fakes import FakeSource, Recorder

from trayapp.sources.base import SourceError
from trayapp.warming.events import EventBus, WarmEvent
from trayapp.warming.levels import Level, Thresholds
from trayapp.warming.plan import build_plan
from trayapp.warming.schedule import RetryBackoff, TickSchedule
from trayapp.warming.scheduler import Warmer

GPU_REGIONS = ("r1", "r2")
C3_REGIONS = ("r1", "r2", "r3", "r4")
WORKERS = ("quota-batch", "quota-fetch-")  # the warmer's threads that fetch and report


def make(source=None, projects=("p",), **kw):
    plan = build_plan(
        projects, ("NVIDIA_T4_GPUS", "NVIDIA_L4_GPUS"), GPU_REGIONS, "C3_CPUS", C3_REGIONS
    )
    bus = EventBus()
    rec = Recorder()
    bus.subscribe(rec)
    kw.setdefault("interval_s", 0.02)
    warmer = Warmer(plan, source or FakeSource(), bus, **kw)
    return warmer, rec


def completes(n=1):
    return lambda evs: sum(e.kind is WarmEvent.COMPLETE for e in evs) >= n


def ends(n=1):
    """A round ended, complete or not."""
    return lambda evs: sum(e.kind in (WarmEvent.COMPLETE, WarmEvent.INCOMPLETE) for e in evs) >= n


def test_a_cycle_fetches_each_region_once_and_completes():
    source = FakeSource()
    warmer, rec = make(source)
    warmer.start()
    events = rec.wait_for(completes())
    warmer.stop()
    regions = [r for _, _, r in source.calls]
    assert sorted(regions) == ["r1", "r2", "r3", "r4"]
    done = next(e for e in events if e.kind is WarmEvent.COMPLETE)
    assert done.progress.done == done.progress.total == 8
    assert done.data["api_calls"] == 4 and done.data["failed"] == 0
    checks = done.snapshot["projects"]["p"]["checks"]
    assert {c["status"] for c in checks} == {"ok", "absent"}
    l4 = [c for c in checks if c["metric"] == "NVIDIA_L4_GPUS"]
    assert all(c["status"] == "absent" and c["limit"] == 0.0 for c in l4)


def test_the_source_is_released_when_each_round_ends():
    source = FakeSource()
    warmer, rec = make(source, rewarm_s=0.3)
    warmer.start()
    rec.wait_for(completes(2))
    deadline = time.monotonic() + 10
    while source.released < 2 and time.monotonic() < deadline:  # just after COMPLETE
        time.sleep(0.01)
    warmer.stop()
    assert source.released >= 2
    assert source.prepared >= 3  # the next cycle prepares the source again before its batches


def test_one_gpu_and_one_c3_check_per_batch():
    warmer, rec = make()
    warmer.start()
    events = rec.wait_for(completes())
    warmer.stop()
    batches = [e for e in events if e.kind in (WarmEvent.BATCH_WARM, WarmEvent.BATCH_SLOW)]
    for e in batches:
        kinds = sorted(c.split(":")[0] for c in e.data["checks"])
        assert kinds in (["c3", "gpu"], ["c3"])
    assert len(batches) == 4  # 4 GPU checks and 4 C3 checks, one of each per tick


def test_never_two_batches_at_once_and_skips_while_busy():
    source = FakeSource(delay_s=0.1)  # each batch outlasts several 0.02 s ticks
    warmer, rec = make(source, skip_log_s=0.0)
    running = []
    peak = []
    lock = threading.Lock()
    real_batch = warmer._run_batch

    def run_batch(batch):
        with lock:
            running.append(batch)
            peak.append(len(running))
        try:
            real_batch(batch)
        finally:
            with lock:
                running.remove(batch)

    warmer._run_batch = run_batch
    warmer.start()
    events = rec.wait_for(completes())
    warmer.stop()
    assert len(peak) == 4 and max(peak) == 1  # four batches, never two at once
    skips = [e for e in events if e.kind is WarmEvent.SKIP]
    assert skips and skips[0].data["reason"] == "batch still running"


def test_every_batch_makes_a_call_and_answers_fill_their_region_at_once():
    source = FakeSource()
    warmer, rec = make(source)
    warmer.start()
    events = rec.wait_for(completes())
    warmer.stop()
    batches = [e for e in events if e.kind in (WarmEvent.BATCH_WARM, WarmEvent.BATCH_SLOW)]
    assert all(e.data["api_calls"] >= 1 for e in batches)
    assert sum(e.data["api_calls"] for e in batches) == len(source.calls) == 4
    first = batches[0].snapshot["projects"]["p"]["checks"]
    r1 = [c for c in first if c["region"] == "r1"]
    assert len(r1) == 3 and all(c["status"] in ("ok", "absent") for c in r1)  # T4, L4, C3
    assert len({c["fetched_at"] for c in r1}) == 1  # when the region's answer arrived


def test_a_stuck_fetch_times_out_at_its_deadline_and_the_cycle_goes_on():
    source = FakeSource()
    real = source.fetch
    stuck = threading.Event()

    def fetch(project, region):
        if region == "r2":
            stuck.wait(30)  # a server trickling its answer forever
        return real(project, region)

    source.fetch = fetch
    warmer, rec = make(source, fetch_deadline_s=0.2, retry_first_s=1e9)
    warmer.start()
    events = rec.wait_for(ends())
    warmer.stop()
    stuck.set()
    done = events[-1]
    assert done.kind is WarmEvent.INCOMPLETE
    checks = done.snapshot["projects"]["p"]["checks"]
    r2 = [c for c in checks if c["region"] == "r2"]
    assert all(c["status"] == "error" and "timed out" in c["error"] for c in r2)
    assert all(c["status"] in ("ok", "absent") for c in checks if c["region"] != "r2")
    fails = [e for e in events if e.kind is WarmEvent.BATCH_FAIL]
    assert fails and all(e.elapsed_ms < 1000 for e in fails)


def test_nothing_is_emitted_after_final_stats():
    source = FakeSource()
    warmer, rec = make(source, skip_log_s=0.0, rewarm_s=1e9)
    warmer.start()
    rec.wait_for(completes())
    rec.wait_for(lambda evs: any(e.kind is WarmEvent.SKIP for e in evs))
    warmer.stop()
    n = len(rec.events)
    for _ in range(5):  # a skip notice still on its way, an error, a pause
        warmer._emit(WarmEvent.SKIP, data={"skipped": 1, "reason": "late"})
        warmer.pause()
    assert len(rec.events) == n and rec.kinds()[-1] is WarmEvent.FINAL_STATS


def test_a_reload_that_changes_the_plan_keeps_the_cycle_ids_growing():
    source = FakeSource()
    warmer, rec = make(source, rewarm_s=1e9)
    warmer.start()
    rec.wait_for(completes())
    plan = build_plan(("p",), ("NVIDIA_T4_GPUS",), GPU_REGIONS, "C3_CPUS", C3_REGIONS)
    warmer.reconfigure(
        plan, interval_s=0.02, rewarm_s=1e9, thresholds=Thresholds(), notes=("a note",)
    )
    events = rec.wait_for(completes(2))
    warmer.stop()
    reloaded = next(e for e in events if e.kind is WarmEvent.CONFIG_RELOADED)
    assert reloaded.data == {"plan_changed": True, "notes": ("a note",)}
    assert [e.cycle for e in events if e.kind is WarmEvent.COMPLETE] == [1, 2]


def test_ticks_follow_the_schedule_without_drift_and_skip_missed_ones():
    now = 1000.0
    schedule = TickSchedule(2.0, now)
    fired = []
    for n in range(500):
        now += schedule.delay(now)  # the scheduler sleeps exactly until the tick is due
        fired.append(now)
        now += 0.013 if n % 50 else 5.1  # a tick's own work; now and then one runs long
        schedule.ticked(now)
    span = fired[-1] - fired[0]
    missed = sum(round((b - a) / 2.0) - 1 for a, b in itertools.pairwise(fired))
    assert missed == 2 * 10  # each long tick made two ticks late: skipped, not queued
    assert all(round((t - 1000.0) / 2.0, 6).is_integer() for t in fired)  # on the grid
    assert abs(span - (499 + missed) * 2.0) < 0.01 * span  # < 1% drift over 500 ticks


class VirtualTime:
    """The warmer's clock and its stop event's wait, in virtual seconds: waiting advances the
    clock by exactly the time asked for, and ``stop_after`` waits end the loop."""

    def __init__(self, stop_after: int) -> None:
        self.now = 1000.0
        self.left = stop_after

    def __call__(self) -> float:
        return self.now

    def wait(self, timeout: float | None = None) -> bool:
        self.now += timeout or 0.0
        self.left -= 1
        return self.left < 0

    def set(self) -> None:
        self.left = -1


def test_the_warmer_loop_ticks_without_drift_on_its_injected_clock():
    clock = VirtualTime(stop_after=500)
    warmer, _ = make(FakeSource(), interval_s=2.0, clock=clock, wall_clock=clock)
    warmer._stop = clock  # the loop sleeps on the virtual clock
    fired = []

    def tick():  # a tick's own work takes time; now and then one runs long
        fired.append(clock.now)
        clock.now += 0.05 if len(fired) % 50 else 5.1

    warmer._tick = tick
    warmer._run()  # on this thread: 500 waits, then the loop ends
    span = fired[-1] - fired[0]
    missed = sum(round((b - a) / 2.0) - 1 for a, b in itertools.pairwise(fired))
    assert len(fired) == 500
    assert missed == 2 * 9  # each long tick made two ticks late: skipped, not run in a burst
    assert all(round((t - 1000.0) / 2.0, 6).is_integer() for t in fired)  # on the grid
    assert abs(span - (499 + missed) * 2.0) < 0.01 * span  # < 1% drift over 500 ticks


def test_the_warmer_ticks_on_its_schedule():
    source = FakeSource()
    warmer, _ = make(source, interval_s=0.05, rewarm_s=1e9, skip_log_s=1e9)
    ticks = []
    real = warmer._tick

    def tick():
        ticks.append(time.monotonic())
        real()

    warmer._tick = tick
    warmer.start()
    deadline = time.monotonic() + 10
    while len(ticks) < 41 and time.monotonic() < deadline:
        time.sleep(0.01)
    warmer.stop()
    span = ticks[40] - ticks[0]
    assert span == pytest.approx(40 * 0.05, abs=0.05)


def test_a_failing_region_costs_three_calls_then_the_round_is_an_error():
    source = FakeSource()
    source.fail["r3"] = [SourceError("unavailable", "503 backend error")] * 3
    warmer, rec = make(source, backoff_ticks=0, retry_first_s=1e9)
    warmer.start()
    events = rec.wait_for(ends())
    warmer.stop()
    assert [r for _, _, r in source.calls].count("r3") == 3  # first try plus two retries
    done = next(e for e in events if e.kind is WarmEvent.INCOMPLETE)
    assert WarmEvent.COMPLETE not in rec.kinds()
    assert done.data["failed"] == 1 and done.data["reasons"] == ["503 backend error"]
    assert done.level is Level.ERROR and done.snapshot["warmer"]["level"] == "error"
    assert done.snapshot["projects"]["p"]["cycle"]["failed"] == 1
    r3 = [c for c in done.snapshot["projects"]["p"]["checks"] if c["region"] == "r3"]
    assert r3 == [
        {
            "kind": "c3",
            "region": "r3",
            "metric": "C3_CPUS",
            "status": "error",
            "limit": None,
            "usage": None,
            "fetched_at": None,
            "error": "503 backend error",
            "source": None,
            "service": "compute",
            "tier": "on-demand",
            "quota_id": None,
            "quota_metric": None,
            "eligibility": None,
        }
    ]


def test_every_check_of_a_region_shares_each_attempt():
    source = FakeSource()
    source.fail["r1"] = [SourceError("unavailable", "503 backend error")] * 9
    warmer, rec = make(source, backoff_ticks=0, retry_first_s=1e9)
    warmer.start()
    events = rec.wait_for(ends())
    warmer.stop()
    assert [r for _, _, r in source.calls].count("r1") == 3  # 3 checks of r1, 3 calls in all
    done = events[-1]
    assert done.data["failed"] == 3  # T4, L4 and C3 of r1


def test_a_region_that_does_not_exist_is_asked_once_and_not_again():
    source = FakeSource()
    source.fail["r2"] = [SourceError("not_found", "p/r2: no such region")] * 9
    warmer, rec = make(source, rewarm_s=0.3, retry_first_s=0.01)
    warmer.start()
    rec.wait_for(ends(2))
    warmer.stop()
    assert [r for _, _, r in source.calls].count("r2") == 1
    assert warmer.health()["not_found"] == ["p/r2"]
    assert all(e.kind is not WarmEvent.RETRY for e in rec.events)  # nothing retryable


def test_failed_checks_heal_on_their_own_with_a_back_off():
    source = FakeSource()
    source.fail["r3"] = [SourceError("unavailable", "503 backend error")] * 6
    warmer, rec = make(source, backoff_ticks=0, retry_first_s=0.1, rewarm_s=1e9)
    warmer.start()
    events = rec.wait_for(completes())
    warmer.stop()
    kinds = [e.kind for e in events]
    assert kinds.count(WarmEvent.INCOMPLETE) == 2 and kinds.count(WarmEvent.RETRY) == 2
    first, second = (e for e in events if e.kind is WarmEvent.INCOMPLETE)
    assert first.data["retry_in_s"] == 0.1 and second.data["retry_in_s"] == 0.2  # doubling
    retry = next(e for e in events if e.kind is WarmEvent.RETRY)
    assert retry.data == {"failed": 1, "regions": 1, "attempt": 1}
    healed = events[-1]
    assert healed.kind is WarmEvent.COMPLETE and healed.level is Level.COMPLETE
    assert healed.data["failed"] == 0 and healed.data["api_calls"] == 1  # only r3 again
    assert [r for _, _, r in source.calls].count("r1") == 1


def test_back_off_is_capped_at_the_rewarm_period():
    backoff = RetryBackoff(60.0)
    delays = [backoff.failed(0.0, cap_s=300.0) for _ in range(5)]
    assert delays == [60.0, 120.0, 240.0, 300.0, 300.0]
    backoff.reset()
    assert backoff.failed(0.0, cap_s=30.0) == 30.0


def test_transient_failure_recovers_within_the_cycle():
    source = FakeSource()
    source.fail["r2"] = [SourceError("rate_limited", "rateLimitExceeded")]
    warmer, rec = make(source, backoff_ticks=1)
    warmer.start()
    events = rec.wait_for(completes())
    warmer.stop()
    done = next(e for e in events if e.kind is WarmEvent.COMPLETE)
    assert done.data["failed"] == 0
    assert WarmEvent.BATCH_FAIL in rec.kinds()
    statuses = {c["status"] for c in done.snapshot["projects"]["p"]["checks"]}
    assert statuses <= {"ok", "absent"}


def test_permission_stops_that_project_only_and_reports_once():
    source = FakeSource()
    warmer, rec = make(source, projects=("good", "bad"), retry_first_s=1e9)
    real = source.fetch

    def fetch(project, region):
        if project == "bad":
            raise SourceError("permission", "permission denied on project bad")
        return real(project, region)

    source.fetch = fetch
    warmer.start()
    events = rec.wait_for(ends())
    warmer.stop()
    errors = [e for e in events if e.kind is WarmEvent.ERROR]
    assert len(errors) == 1 and errors[0].error_kind == "permission"
    doc = next(e for e in events if e.kind is WarmEvent.INCOMPLETE).snapshot
    assert {c["status"] for c in doc["projects"]["bad"]["checks"]} == {"error"}
    assert {c["status"] for c in doc["projects"]["good"]["checks"]} <= {"ok", "absent"}


def test_credentials_failure_at_start_fails_everything_without_batches():
    source = FakeSource()
    source.prepare_error = SourceError("auth", "no Google credentials found")
    warmer, rec = make(source, retry_first_s=1e9)
    warmer.start()
    events = rec.wait_for(ends())
    warmer.stop()
    assert source.calls == []
    kinds = [e.kind for e in events]
    assert WarmEvent.COMPLETE not in kinds
    assert kinds.index(WarmEvent.ERROR) < kinds.index(WarmEvent.INCOMPLETE)
    assert not any(k in (WarmEvent.BATCH_WARM, WarmEvent.BATCH_SLOW) for k in kinds)
    [done] = [e for e in events if e.kind is WarmEvent.INCOMPLETE]  # a SKIP may follow it
    assert done.data["failed"] == 8 and warmer.level is Level.ERROR


def test_fixing_the_credentials_heals_without_a_click():
    source = FakeSource()
    source.prepare_error = SourceError("auth", "no Google credentials found")
    warmer, rec = make(source, retry_first_s=0.2, rewarm_s=1e9)
    warmer.start()
    rec.wait_for(ends())
    source.prepare_error = None  # the user ran gcloud auth application-default login
    events = rec.wait_for(completes())
    warmer.stop()
    assert [e.kind for e in events].count(WarmEvent.RETRY) >= 1
    assert events[-1].data["failed"] == 0 and warmer.level is Level.COMPLETE


def test_periodic_rewarm_keeps_old_values_until_replaced():
    source = FakeSource()
    warmer, rec = make(source, rewarm_s=0.3)
    warmer.start()
    rec.wait_for(completes(2))
    warmer.stop()
    events = rec.events
    rewarm = next(i for i, e in enumerate(events) if e.kind is WarmEvent.REWARM)
    assert events[rewarm].data == {"reason": "periodic", "stale": False}
    first_after = events[rewarm].snapshot["projects"]["p"]["checks"]
    assert all(c["status"] in ("ok", "absent") for c in first_after)  # nothing emptied
    assert events[rewarm].snapshot["projects"]["p"]["cycle"]["done"] == 0


def test_force_rewarm_during_a_cycle_restarts_it_and_never_runs_two():
    source = FakeSource(delay_s=0.05)
    warmer, rec = make(source, rewarm_s=1e9)
    running, peak, lock = [0], [0], threading.Lock()
    real_fetch = source.fetch

    def fetch(project, region):  # counts fetches of every batch under way at once
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        try:
            return real_fetch(project, region)
        finally:
            with lock:
                running[0] -= 1

    source.fetch = fetch
    warmer.start()
    rec.wait_for(lambda evs: any(e.kind is WarmEvent.BATCH_WARM for e in evs))
    for _ in range(5):  # asked again and again while a batch runs
        warmer.force_rewarm()
    events = rec.wait_for(completes())
    warmer.stop()
    # a batch asks at most two regions (its GPU and its C3 check): more at once would be two
    # batches, the restarted cycle's next to the one still running
    assert peak[0] <= 2
    rewarms = [e for e in events if e.kind is WarmEvent.REWARM]
    assert [e.data["reason"] for e in rewarms] == ["forced"]
    complete = next(e for e in events if e.kind is WarmEvent.COMPLETE)
    assert complete.cycle == rewarms[0].cycle == 2


class CountingClock:
    """The real monotonic clock, counting how often the scheduler looked at it."""

    def __init__(self) -> None:
        self.reads = 0

    def __call__(self) -> float:
        self.reads += 1
        return time.monotonic()


def wait_until(predicate, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        threading.Event().wait(0.005)


def test_pause_stops_batches_and_resume_restarts_them():
    source = FakeSource()
    clock = CountingClock()
    warmer, rec = make(source, rewarm_s=1e9, clock=clock)
    warmer.pause()
    warmer.start()
    rec.wait_for(lambda evs: any(e.kind is WarmEvent.START for e in evs))
    seen = clock.reads
    wait_until(lambda: clock.reads >= seen + 20)  # ten ticks passed while paused (two reads each)
    assert source.calls == []
    warmer.resume()
    rec.wait_for(completes())
    warmer.stop()
    assert [e.data["paused"] for e in rec.events if e.kind is WarmEvent.PAUSED] == [True, False]


def test_stop_returns_promptly_while_a_request_hangs():
    source = FakeSource()
    source.hang.set()
    warmer, rec = make(source)
    warmer.start()
    deadline = time.monotonic() + 5
    while not source.calls and time.monotonic() < deadline:
        time.sleep(0.01)
    started = time.monotonic()
    warmer.stop()
    assert time.monotonic() - started < 1.0
    kinds = rec.kinds()
    assert kinds[-2:] == [WarmEvent.CANCELLED, WarmEvent.FINAL_STATS]
    assert rec.events[-2].data["in_flight"] is True


def test_results_arriving_after_stop_are_dropped():
    source = FakeSource()
    source.hang.set()
    warmer, rec = make(source)
    warmer.start()
    rec.wait_for(lambda evs: bool(source.calls))
    warmer.stop()
    n = len(rec.events)
    source.unblock.set()
    # the late result has arrived once the threads that carried it have ended
    wait_until(lambda: not any(t.name.startswith(WORKERS) for t in threading.enumerate()))
    assert len(rec.events) == n


def test_levels_follow_batch_time():
    source = FakeSource(delay_s=0.06)
    warmer, rec = make(source, thresholds=Thresholds(20, 40, 50), interval_s=0.01)
    warmer.start()
    events = rec.wait_for(completes())
    warmer.stop()
    batch = next(e for e in events if e.kind is WarmEvent.BATCH_SLOW)
    assert batch.level is Level.SLOW and batch.elapsed_ms >= 50
    assert events[-1].snapshot["warmer"]["level"] == "complete"


def test_an_observer_that_raises_does_not_stop_warming():
    class Broken:
        calls = 0

        def on_event(self, event):
            Broken.calls += 1
            raise RuntimeError("boom")

    warmer, rec = make()
    warmer.bus.subscribe(Broken())
    warmer.start()
    rec.wait_for(completes())
    warmer.stop()
    assert Broken.calls > 3


def test_stop_twice_and_from_many_threads_is_safe():
    warmer, rec = make()
    warmer.start()
    threads = [threading.Thread(target=warmer.stop) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(2)
    assert rec.kinds().count(WarmEvent.FINAL_STATS) == 1


def test_a_periodic_rewarm_waits_for_the_unfinished_cycle_then_starts_at_once():
    source = FakeSource(delay_s=0.03)
    warmer, rec = make(source, rewarm_s=0.05)  # due long before the first cycle can finish
    warmer.start()
    events = rec.wait_for(completes(2))
    warmer.stop()
    kinds = [e.kind for e in events]
    first_rewarm = kinds.index(WarmEvent.REWARM)
    assert kinds.index(WarmEvent.COMPLETE) < first_rewarm  # the first cycle was not cut short
    assert events[first_rewarm].data["reason"] == "periodic"
    between = kinds[kinds.index(WarmEvent.COMPLETE) + 1 : first_rewarm]
    assert WarmEvent.BATCH_WARM not in between and WarmEvent.BATCH_SLOW not in between


def test_projects_the_plan_does_not_warm_stay_in_the_document_as_they_were():
    """A run of one project (or a reload that drops one) never drops another's answers."""
    from trayapp.cache import Snapshot
    from trayapp.warming.state import WarmState

    both = build_plan(["a", "b"], ["NVIDIA_T4_GPUS"], ["r1"], "C3_CPUS", ["r1"])
    earlier = WarmState(build_plan(["b", "c"], ["NVIDIA_T4_GPUS"], ["r1"], "C3_CPUS", ["r1"]))
    earlier.apply_region("b", "r1", {"NVIDIA_T4_GPUS": (8.0, 1.0)}, "2026-01-01T00:00:00+00:00")
    old = earlier.document({"pid": 1})
    state = WarmState(both)
    state.seed(Snapshot(old))
    assert state.document({})["projects"]["c"] == old["projects"]["c"]  # not planned: kept
    bus, rec = EventBus(), Recorder()
    bus.subscribe(rec)
    warmer = Warmer(both, FakeSource(), bus, interval_s=0.01, state=state)
    warmer.start()
    first = rec.wait_for(rec.count(WarmEvent.COMPLETE))
    b_now = [e for e in first if e.kind is WarmEvent.COMPLETE][-1].snapshot["projects"]["b"]
    warmer.reconfigure(
        build_plan(["a"], ["NVIDIA_T4_GPUS"], ["r1"], "C3_CPUS", ["r1"]),
        interval_s=0.01,
        rewarm_s=1800.0,
        thresholds=Thresholds(),
    )
    events = rec.wait_for(lambda evs: rec.count(WarmEvent.COMPLETE)(evs) >= 2)
    warmer.stop()
    doc = [e for e in events if e.kind is WarmEvent.COMPLETE][-1].snapshot
    assert list(doc["projects"]) == ["a", "b", "c"]
    assert doc["projects"]["b"] == b_now and doc["projects"]["c"] == old["projects"]["c"]
