"""Scheduling logic of the warmer, against a scripted source."""

from __future__ import annotations

import threading
import time

import pytest
from fakes import FakeSource, Recorder

from trayapp.events import EventBus, WarmEvent
from trayapp.levels import Level, Thresholds
from trayapp.plan import build_plan
from trayapp.sources.base import SourceError
from trayapp.warmer import Warmer

GPU_REGIONS = ("r1", "r2")
C3_REGIONS = ("r1", "r2", "r3", "r4")


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
    source = FakeSource(delay_s=0.1)
    warmer, rec = make(source, skip_log_s=0.0)
    active = []
    peak = []
    real_fetch = source.fetch

    def fetch(project, region):
        active.append(1)
        peak.append(len(active))
        try:
            return real_fetch(project, region)
        finally:
            active.pop()

    source.fetch = fetch
    warmer.start()
    events = rec.wait_for(completes())
    warmer.stop()
    assert max(peak) <= 2  # the GPU and the C3 fetch of one batch
    skips = [e for e in events if e.kind is WarmEvent.SKIP]
    assert skips and skips[0].data["reason"] == "batch still running"


def test_ticks_follow_the_schedule_without_drift():
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
    assert span == pytest.approx(40 * 0.05, abs=0.05)  # no accumulated drift over 40 ticks


def test_a_failed_check_is_retried_later_in_the_cycle_then_marked_error():
    source = FakeSource()
    source.fail["r3"] = [SourceError("unavailable", "503 backend error")] * 3
    warmer, rec = make(source, backoff_ticks=0)
    warmer.start()
    events = rec.wait_for(completes())
    warmer.stop()
    assert [r for _, _, r in source.calls].count("r3") == 3  # first try plus two retries
    done = next(e for e in events if e.kind is WarmEvent.COMPLETE)
    assert done.data["failed"] == 1
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
        }
    ]


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
    warmer, rec = make(source, projects=("good", "bad"))
    real = source.fetch

    def fetch(project, region):
        if project == "bad":
            raise SourceError("permission", "permission denied on project bad")
        return real(project, region)

    source.fetch = fetch
    warmer.start()
    events = rec.wait_for(completes())
    warmer.stop()
    errors = [e for e in events if e.kind is WarmEvent.ERROR]
    assert len(errors) == 1 and errors[0].error_kind == "permission"
    doc = next(e for e in events if e.kind is WarmEvent.COMPLETE).snapshot
    assert {c["status"] for c in doc["projects"]["bad"]["checks"]} == {"error"}
    assert {c["status"] for c in doc["projects"]["good"]["checks"]} <= {"ok", "absent"}


def test_credentials_failure_at_start_fails_everything_without_batches():
    source = FakeSource()
    source.prepare_error = SourceError("auth", "no Google credentials found")
    warmer, rec = make(source)
    warmer.start()
    events = rec.wait_for(completes())
    warmer.stop()
    assert source.calls == []
    kinds = [e.kind for e in events]
    assert kinds.index(WarmEvent.ERROR) < kinds.index(WarmEvent.COMPLETE)
    assert next(e for e in events if e.kind is WarmEvent.COMPLETE).data["failed"] == 8


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
    warmer.start()
    rec.wait_for(lambda evs: any(e.kind is WarmEvent.BATCH_WARM for e in evs))
    warmer.force_rewarm()
    events = rec.wait_for(completes())
    warmer.stop()
    rewarms = [e for e in events if e.kind is WarmEvent.REWARM]
    assert [e.data["reason"] for e in rewarms] == ["forced"]
    complete = next(e for e in events if e.kind is WarmEvent.COMPLETE)
    assert complete.cycle == rewarms[0].cycle == 2


def test_pause_stops_batches_and_resume_restarts_them():
    source = FakeSource()
    warmer, rec = make(source, rewarm_s=1e9)
    warmer.pause()
    warmer.start()
    rec.wait_for(lambda evs: any(e.kind is WarmEvent.START for e in evs))
    time.sleep(0.2)  # ten ticks pass while paused
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
    source.release.set()
    time.sleep(0.1)  # give a late result a chance to (wrongly) arrive
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
