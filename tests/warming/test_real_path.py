"""The warmer through the real google-cloud-compute client against the emulator over HTTP."""

from __future__ import annotations

import itertools
import time

import pytest
from fakes import Recorder

from trayapp import cache
from trayapp.emulator.server import expected_quotas
from trayapp.sources.compute import ComputeSource
from trayapp.warming.events import EventBus, WarmEvent
from trayapp.warming.plan import build_plan
from trayapp.warming.scheduler import Warmer

INTERVAL = 0.1


@pytest.fixture
def emulator(make_emulator):
    return make_emulator(latency=5)


def warm(emulator, tmp_path, projects=("proj-a",), **kw):
    bus = EventBus()
    rec = Recorder()
    writer = cache.CacheWriter(tmp_path / cache.FILENAME)
    bus.subscribe(writer)
    bus.subscribe(rec)
    source = ComputeSource(emulator.url, timeout_s=kw.pop("timeout_s", 2.0))
    kw.setdefault("interval_s", INTERVAL)
    warmer = Warmer(build_plan(projects), source, bus, **kw)
    return warmer, rec


def complete(evs):
    return any(e.kind is WarmEvent.COMPLETE for e in evs)


def ended(evs):
    return any(e.kind in (WarmEvent.COMPLETE, WarmEvent.INCOMPLETE) for e in evs)


def test_a_full_cycle_through_the_real_client(emulator, tmp_path):
    warmer, rec = warm(emulator, tmp_path)
    warmer.start()
    events = rec.wait_for(complete, timeout=60)
    warmer.stop()
    snap = cache.load(tmp_path / cache.FILENAME)
    for check in snap.checks("proj-a"):
        region_quotas = expected_quotas("proj-a", check["region"])
        if check["metric"] in region_quotas:
            assert check["status"] == "ok"
            assert (check["limit"], check["usage"]) == region_quotas[check["metric"]]
        else:
            assert check["status"] == "absent" and check["limit"] == check["usage"] == 0
    assert snap.is_complete("proj-a")
    assert any(c["status"] == "absent" for c in snap.checks("proj-a"))  # realistic gaps

    log = [r for r in emulator.requests() if r.region]
    assert len(log) == 18  # one request per region per cycle, not 38
    assert len({r.region for r in log}) == 18
    done = next(e for e in events if e.kind is WarmEvent.COMPLETE)
    assert done.data["api_calls"] == 18 and done.data["failed"] == 0

    # at most two requests per tick, and ticks spaced by the interval
    starts = sorted(r.monotonic for r in log)
    groups = []
    for t in starts:
        if groups and t - groups[-1][0] < INTERVAL / 2:
            groups[-1].append(t)
        else:
            groups.append([t])
    assert max(len(g) for g in groups) <= 2
    gaps = [b[0] - a[0] for a, b in itertools.pairwise(groups)]
    assert min(gaps) >= INTERVAL * 0.8
    assert all(abs(gap / INTERVAL - round(gap / INTERVAL)) < 0.4 for gap in gaps)


def test_two_projects_interleave_and_both_complete(emulator, tmp_path):
    warmer, rec = warm(emulator, tmp_path, projects=("p1", "p2"), interval_s=0.05)
    warmer.start()
    rec.wait_for(complete, timeout=60)
    warmer.stop()
    snap = cache.load(tmp_path / cache.FILENAME)
    assert snap.is_complete("p1") and snap.is_complete("p2")
    projects = [r.project for r in emulator.requests() if r.region]
    assert projects.count("p1") == projects.count("p2") == 18
    assert projects[:4].count("p1") == 2  # they take turns from the start


@pytest.mark.parametrize(
    ("fault", "kind"),
    [
        ("403@us-east4", "permission"),
        ("404@us-east4", "not_found"),
        ("500@us-east4", "unavailable"),
        ("429@us-east4", "rate_limited"),
        ("broken_body@us-east4", "bad_response"),
        ("no_quotas@us-east4", "bad_response"),
    ],
)
def test_a_failing_region_is_marked_and_the_rest_completes(emulator, tmp_path, fault, kind):
    emulator.add_fault(fault)
    warmer, rec = warm(emulator, tmp_path, backoff_ticks=0, interval_s=0.05)  # default retries
    warmer.start()
    events = rec.wait_for(ended, timeout=60)
    warmer.stop()
    assert WarmEvent.COMPLETE not in rec.kinds()  # a failed check is never ✅
    end = next(e for e in events if e.kind is WarmEvent.INCOMPLETE)
    fails = [e for e in events if e.kind in (WarmEvent.BATCH_FAIL, WarmEvent.ERROR)]
    assert fails and {e.error_kind for e in fails} == {kind}
    snap = cache.load(tmp_path / cache.FILENAME)
    assert snap.warmer["level"] == "error"
    assert snap.cycle("proj-a")["failed"] == end.data["failed"] >= 1
    bad = [c for c in snap.checks("proj-a") if c["status"] == "error"]
    hits = [r for r in emulator.requests() if r.region == "us-east4"]
    if kind == "permission":  # stops warming for the project: nothing left to try
        assert all(c["error"] for c in bad) and len(bad) >= 1
        assert len([e for e in events if e.kind is WarmEvent.ERROR]) == 1
    else:
        assert [c["region"] for c in bad] == ["us-east4"]
        assert bad[0]["limit"] is None and "\n" not in bad[0]["error"]
        # a region that does not exist is asked once; others get the budget of three
        assert len(hits) == (1 if kind == "not_found" else 3)


def test_old_values_stay_when_a_rewarm_fails(emulator, tmp_path):
    warmer, rec = warm(
        emulator, tmp_path, rewarm_s=1e9, interval_s=0.05, backoff_ticks=0, retry_first_s=1e9
    )
    warmer.start()
    rec.wait_for(complete, timeout=60)
    before = cache.load(tmp_path / cache.FILENAME).get("proj-a", "us-east4", "C3_CPUS")
    emulator.add_fault("no_quotas@us-east4")
    warmer.force_rewarm()
    rec.wait_for(lambda evs: any(e.kind is WarmEvent.INCOMPLETE for e in evs), timeout=60)
    warmer.stop()
    after = cache.load(tmp_path / cache.FILENAME).get("proj-a", "us-east4", "C3_CPUS")
    assert after["status"] == "ok" and after["limit"] == before["limit"]
    assert after["fetched_at"] == before["fetched_at"]  # old value, old time
    assert "RESULT_INCOMPLETE" in after["error"] or "unavailable" in after["error"]


def test_stop_during_a_hung_request_is_prompt(emulator, tmp_path):
    emulator.add_fault("hang")
    warmer, rec = warm(emulator, tmp_path, timeout_s=30)
    warmer.start()
    assert emulator.wait_for_requests(lambda log: len(log) >= 1, timeout=30)
    started = time.monotonic()
    warmer.stop()
    assert time.monotonic() - started < 1.0
    assert rec.kinds()[-2:] == [WarmEvent.CANCELLED, WarmEvent.FINAL_STATS]
    cache.load(tmp_path / cache.FILENAME)  # consistent file after the stop


def test_batch_time_measures_the_api_not_our_start_up(emulator, tmp_path):
    emulator.latency = type(emulator.latency)(ms=100)
    warmer, rec = warm(emulator, tmp_path)
    warmer.start()
    events = rec.wait_for(complete, timeout=60)
    warmer.stop()
    first = next(e for e in events if e.kind is WarmEvent.BATCH_WARM)
    assert 100 <= first.elapsed_ms < 1000  # no 1.4 s library import inside the first batch
