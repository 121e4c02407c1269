"""The fetcher process: the real google-cloud-compute client in a spawned process, against the
emulator over HTTP. Kills, hangs, trickles, oversized answers and shutdown are done for real."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from emulator_fixtures import no_adc  # noqa: F401
from fakes import Recorder

from trayapp import cache
from trayapp.emulator.server import expected_quotas
from trayapp.sources.base import SourceError
from trayapp.sources.compute import ComputeSource
from trayapp.sources.fetcher.source import HelperSource, detect_project
from trayapp.sources.recipe import SourceRecipe
from trayapp.warming.events import EventBus, WarmEvent
from trayapp.warming.plan import build_plan
from trayapp.warming.scheduler import Warmer

INTERVAL = 0.1
# The family answers, written out by hand from the emulator's entries (emulator/quotas.py), not
# computed with the rule under test: H100 has region + family entries in us-central1 and
# europe-west4, the family entry elsewhere; H200 a region + family entry in us-central1, a
# region-only one in europe-west4, and nothing in us-east1 or us-west1 (not reported).
FAMILY_LIMITS = {
    ("us-central1", "NVIDIA_H100_GPUS"): 16.0,
    ("europe-west4", "NVIDIA_H100_GPUS"): 24.0,
    ("us-east1", "NVIDIA_H100_GPUS"): 8.0,
    ("us-west1", "NVIDIA_H100_GPUS"): 8.0,
    ("us-central1", "NVIDIA_H200_GPUS"): 8.0,
    ("europe-west4", "NVIDIA_H200_GPUS"): 4.0,
}
FAMILY_NONE = {("us-east1", "NVIDIA_H200_GPUS"), ("us-west1", "NVIDIA_H200_GPUS")}


@pytest.fixture
def make_helper() -> Iterator[Callable[..., HelperSource]]:
    """HelperSource factory; every process it started is killed at teardown."""
    made: list[HelperSource] = []

    def make(url: str, timeout_s: float = 2.0, **kw: Any) -> HelperSource:
        source = HelperSource(SourceRecipe(url, timeout_s=timeout_s), **kw)
        made.append(source)
        return source

    yield make
    for source in made:
        source.close()


def gone(pid: int) -> bool:
    """True once ``pid`` is no process at all (not even a zombie: it was reaped)."""
    return not os.path.exists(f"/proc/{pid}")


def wait_until(predicate: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while not (value := predicate()):
        if time.monotonic() >= deadline:
            raise AssertionError(f"not within {timeout:g} s: {what}")
        time.sleep(0.02)
    return value


def fetch_in_thread(source: HelperSource, project: str, region: str) -> dict[str, Any]:
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["answer"] = source.fetch(project, region)
        except SourceError as exc:
            outcome["error"] = exc

    outcome["thread"] = threading.Thread(target=run, daemon=True)
    outcome["thread"].start()
    return outcome


def warm(url: str, tmp_path, source: HelperSource, **kw: Any) -> tuple[Warmer, Recorder]:
    bus = EventBus()
    rec = Recorder()
    bus.subscribe(cache.CacheWriter(tmp_path / cache.FILENAME))
    bus.subscribe(rec)
    kw.setdefault("interval_s", INTERVAL)
    return Warmer(build_plan(["proj-a"]), source, bus, **kw), rec


def ended(events: list[Any]) -> bool:
    return any(e.kind in (WarmEvent.COMPLETE, WarmEvent.INCOMPLETE) for e in events)


def test_a_full_cycle_through_the_fetcher_process_then_it_ends(
    make_emulator, make_helper, tmp_path
):
    emulator = make_emulator(latency=5)
    source = make_helper(emulator.url, idle_grace_s=0.3)
    warmer, rec = warm(emulator.url, tmp_path, source)
    warmer.start()
    try:
        events = rec.wait_for(ended, timeout=60)
        assert events[-1].kind is WarmEvent.COMPLETE, [e.message for e in events if e.message]
        snapshot = cache.load(tmp_path / cache.FILENAME)
        family = []
        for check in snapshot.checks("proj-a"):
            region, metric = check["region"], check["metric"]
            if (region, metric) in FAMILY_NONE:  # neither regions.get nor the family answers
                assert check["status"] == "absent", check
                continue
            if check["source"] == "cloudquotas":  # regions.get did not report it: the family did
                family.append((region, metric))
                limit = FAMILY_LIMITS[region, metric]
                assert (check["limit"], check["usage"]) == (limit, None)
                continue
            limit, usage = expected_quotas("proj-a", region).get(metric, (0, 0))
            assert (check["limit"], check["usage"]) == (limit, usage)
        assert sorted(family) == sorted(FAMILY_LIMITS)  # every H100/H200 check, and only those
        assert snapshot.is_complete("proj-a")
        assert source.started == 1  # one process served the whole cycle
        pid = source.last_pid
        # the round is over: after the grace the process is gone, and nothing was started again
        wait_until(lambda: source.pid is None and gone(pid), 10, "the fetcher to end")
    finally:
        warmer.stop()


def reapers() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "quota-fetcher-reaper" and t.is_alive()]


def children() -> set[int]:
    """The live child processes of this one (the fetcher, multiprocessing's resource tracker)."""
    found: set[int] = set()
    for task in os.scandir(f"/proc/{os.getpid()}/task"):
        try:
            with open(f"{task.path}/children", encoding="ascii") as listing:
                found.update(int(pid) for pid in listing.read().split())
        except FileNotFoundError:  # a thread that ended meanwhile
            continue
    return {pid for pid in found if not gone(pid) and not zombie(pid)}


def zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def test_pause_during_a_round_releases_the_fetcher_and_its_tracker(
    make_emulator, make_helper, tmp_path
):
    emulator = make_emulator(latency=2)
    source = make_helper(emulator.url, idle_grace_s=0.3)
    warmer, rec = warm(emulator.url, tmp_path, source, interval_s=0.5, rewarm_s=1e9)
    warmer.start()
    try:
        rec.wait_for(lambda evs: any(e.kind is WarmEvent.BATCH_WARM for e in evs), timeout=60)
        pid = source.pid
        assert pid is not None and pid in children()
        warmer.pause()
        assert not ended(rec.events)  # mid-round: the round's end did not release it
        wait_until(lambda: not children(), 10, "no fetcher or resource tracker while paused")
        assert gone(pid) and source.pid is None
        warmer.resume()  # a fresh fetcher finishes the round
        events = rec.wait_for(ended, timeout=60)
    finally:
        warmer.stop()
    assert events[-1].kind is WarmEvent.COMPLETE
    assert source.started == 2


def test_a_reused_process_within_the_grace_and_a_fresh_one_after(make_emulator, make_helper):
    emulator = make_emulator()
    source = make_helper(emulator.url, idle_grace_s=1.0)
    source.prepare()
    first = source.pid
    source.release()
    assert source.fetch("proj-a", "us-east1") == expected_quotas("proj-a", "us-east1")
    # the release() the call made void: its timer ends without firing (one that fired, at the
    # grace, would have ended the process first)
    wait_until(lambda: not reapers(), 10, "the void release's timer to end")
    assert source.pid == first  # used again inside the grace: kept
    source.release()
    wait_until(lambda: source.pid is None and gone(first), 10, "the fetcher to end")
    source.prepare()
    assert source.pid not in (None, first)
    assert source.started == 2


def test_errors_keep_their_kind_and_message_across_the_process(make_emulator, make_helper):
    emulator = make_emulator(
        faults=["403:rateLimitExceeded@us-east1", "403@us-west1", "503@us-west2", "404@us-east4"]
    )
    source = make_helper(emulator.url)
    direct = ComputeSource(emulator.url, timeout_s=2.0)
    try:
        for region in ("us-east1", "us-west1", "us-west2", "us-east4"):
            with pytest.raises(SourceError) as through:
                source.fetch("proj-a", region)
            with pytest.raises(SourceError) as here:
                direct.fetch("proj-a", region)
            assert (through.value.kind, through.value.message) == (
                here.value.kind,
                here.value.message,
            )
        assert through.value.kind == "not_found"
    finally:
        direct.close()


def test_sigkill_mid_fetch_fails_that_attempt_and_the_retry_succeeds(
    make_emulator, make_helper, tmp_path
):
    emulator = make_emulator(faults=["hang@proj-a/us-east4#1"])
    source = make_helper(emulator.url, timeout_s=30.0)
    warmer, rec = warm(emulator.url, tmp_path, source, fetch_deadline_s=30.0)
    warmer.start()
    try:
        emulator.wait_for_requests(lambda log: any(r.status == "hang" for r in log), timeout=60)
        victim = source.pid
        os.kill(victim, signal.SIGKILL)
        events = rec.wait_for(ended, timeout=60)
        assert events[-1].kind is WarmEvent.COMPLETE
        killed = [e for e in events if "SIGKILL" in (e.message or "")]
        assert killed, [e.message for e in events if e.message]
        assert killed[0].error_kind == "unavailable"  # an error of that attempt: retried
        asked = [r for r in emulator.requests() if r.region == "us-east4"]
        assert len(asked) == 2  # the killed attempt, and the retry that answered
        assert source.started == 2 and gone(victim)
    finally:
        warmer.stop()


@pytest.mark.parametrize("fault", ["hang", "trickle"])
def test_a_region_past_its_deadline_replaces_the_process(make_emulator, make_helper, fault):
    # the trickle sends a byte every 50 ms: no read ever times out, only the deadline holds;
    # the hang outlasts the deadline here, the library's read timeout being longer
    emulator = make_emulator(faults=[f"{fault}@us-east4"])
    source = make_helper(emulator.url, timeout_s=5.0, deadline_s=0.6)
    source.prepare()
    stuck = source.pid
    other = fetch_in_thread(source, "proj-a", "us-east4")
    other["thread"].join(10)
    assert other["error"].kind == "timeout", other
    assert "replaced" in other["error"].message
    assert gone(stuck)  # killed, not left to finish its read
    assert source.fetch("proj-a", "us-east1") == expected_quotas("proj-a", "us-east1")
    assert source.pid != stuck


def test_a_failed_cycle_through_the_fetcher_heals_on_its_own(make_emulator, make_helper, tmp_path):
    emulator = make_emulator(faults=["403"])  # the user cannot read the project
    source = make_helper(emulator.url, idle_grace_s=0.2)
    warmer, rec = warm(emulator.url, tmp_path, source, retry_first_s=0.5, rewarm_s=1e9)
    warmer.start()
    try:
        first = rec.wait_for(ended, timeout=60)[-1]
        assert first.kind is WarmEvent.INCOMPLETE and first.data["failed"] == 38
        assert "permission denied" in first.data["reasons"][0]
        assert cache.load(tmp_path / cache.FILENAME).warmer["level"] == "error"
        emulator.clear_faults()  # the permission was granted; nobody clicks anything
        events = rec.wait_for(lambda evs: any(e.kind is WarmEvent.COMPLETE for e in evs), 60)
    finally:
        warmer.stop()
    kinds = [e.kind for e in events]
    assert kinds.index(WarmEvent.INCOMPLETE) < kinds.index(WarmEvent.RETRY)
    assert events[-1].kind is WarmEvent.COMPLETE and events[-1].cycle == first.cycle
    snap = cache.load(tmp_path / cache.FILENAME)
    assert snap.warmer["level"] == "complete" and snap.is_complete("proj-a")
    assert any(c["source"] == "cloudquotas" for c in snap.checks("proj-a"))


def test_failing_regions_keep_their_budget_through_the_fetcher(
    make_emulator, make_helper, tmp_path
):
    # a 503 region, a trickling one (each trickle kills the fetcher) and a missing one
    emulator = make_emulator(faults=["503@us-west2", "trickle@us-east4", "404@us-east1"])
    source = make_helper(emulator.url, timeout_s=0.6)
    warmer, rec = warm(emulator.url, tmp_path, source, fetch_deadline_s=0.6, backoff_ticks=0)
    warmer.start()
    try:
        end = rec.wait_for(ended, timeout=120)[-1]
    finally:
        warmer.stop()
    hits: dict[str, int] = {}
    for request in emulator.requests():
        if request.region:
            hits[request.region] = hits.get(request.region, 0) + 1
    assert (hits["us-west2"], hits["us-east4"], hits["us-east1"]) == (3, 3, 1)
    assert max(hits.values()) <= 3  # a fetcher killed under a call never adds an attempt
    assert end.kind is WarmEvent.INCOMPLETE
    snap = cache.load(tmp_path / cache.FILENAME)
    by_region: dict[str, set[str]] = {}
    for check in snap.checks("proj-a"):
        by_region.setdefault(check["region"], set()).add(check["error"] or "")
    assert any("no complete answer within 0.6 s" in e for e in by_region["us-east4"])
    assert any("HTTP 503" in e for e in by_region["us-west2"])
    assert source.started >= 4  # each trickle replaced the process


def test_a_reloaded_timeout_is_the_fetchers_deadline(make_emulator, make_helper):
    emulator = make_emulator(faults=["trickle@us-east4"])
    source = make_helper(emulator.url, timeout_s=30.0)
    source.prepare()
    source.timeout_s = 0.5  # what a reload of timeout_s does
    started = time.monotonic()
    with pytest.raises(SourceError) as late:
        source.fetch("proj-a", "us-east4")
    assert time.monotonic() - started < 5
    assert late.value.kind == "timeout" and "within 0.5 s" in late.value.message
    assert source.recipe.timeout_s == 0.5  # the next fetcher reads with it too


def test_an_oversized_answer_is_refused_in_the_process(make_emulator, make_helper):
    emulator = make_emulator(faults=["huge_body@us-east4"])
    source = make_helper(emulator.url)
    with pytest.raises(SourceError) as refused:
        source.fetch("proj-a", "us-east4")
    assert refused.value.kind == "bad_response"
    assert refused.value.message == "proj-a/us-east4: answer larger than 4 MB refused"
    pid = source.pid
    assert source.fetch("proj-a", "us-east1") == expected_quotas("proj-a", "us-east1")
    assert source.pid == pid  # a refusal is an answer: the process stays


def test_stop_during_a_hung_fetch_returns_within_a_second(make_emulator, make_helper, tmp_path):
    emulator = make_emulator(faults=["hang@us-east4"])
    source = make_helper(emulator.url, timeout_s=30.0)
    warmer, rec = warm(emulator.url, tmp_path, source, fetch_deadline_s=30.0)
    warmer.start()
    emulator.wait_for_requests(lambda log: any(r.status == "hang" for r in log), timeout=60)
    pid = source.pid
    started = time.monotonic()
    warmer.stop()  # closes the source on a thread of its own: waited for below
    wait_until(lambda: gone(pid), max(0.0, 1.0 - (time.monotonic() - started)), "the kill")
    assert time.monotonic() - started < 1.0
    assert rec.kinds()[-1] is WarmEvent.FINAL_STATS


def test_a_closed_source_refuses_calls(make_emulator, make_helper):
    source = make_helper(make_emulator().url)
    source.close()
    with pytest.raises(SourceError) as closed:
        source.prepare()
    assert closed.value.kind == "unavailable"


def test_the_adc_project_is_found_without_importing_google_here(no_adc, monkeypatch):  # noqa: F811
    adc = no_adc / "adc.json"
    adc.write_text(
        json.dumps(
            {
                "type": "authorized_user",
                "client_id": "cid",
                "client_secret": "cs",
                "refresh_token": "rt",
            }
        )
    )
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(adc))
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", "adc-project")
    code = (
        "import sys\n"
        "from trayapp.sources.fetcher.source import detect_project\n"
        "print(detect_project(), [m for m in sys.modules if m.split('.')[0] == 'google'])"
    )
    fresh = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert fresh.stdout.split("\n")[0] == "adc-project []", fresh.stderr
    monkeypatch.delenv("GOOGLE_APPLICATION_CREDENTIALS")
    monkeypatch.delenv("GOOGLE_CLOUD_PROJECT")
    assert detect_project() is None  # no credentials at all
