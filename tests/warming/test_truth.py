"""The signal never lies, through the real google-cloud-compute client and the emulator over
HTTP: failure is never complete, failed checks heal by themselves, batches are API calls, every
region keeps to its budget and its deadline, and a login-token blip is not a lost login."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from fakes import Recorder
from userdirs import isolated_env

from trayapp import cache
from trayapp.emulator.faults import Latency
from trayapp.emulator.quotas import QUOTAS_TARGET
from trayapp.logsink import FileLog
from trayapp.sources.compute import ComputeSource
from trayapp.sources.google import GoogleSource
from trayapp.warming.events import EventBus, WarmEvent
from trayapp.warming.levels import Level
from trayapp.warming.plan import build_plan
from trayapp.warming.scheduler import Warmer

PROJECT = "proj-a"
BATCHES = (WarmEvent.BATCH_WARM, WarmEvent.BATCH_SLOW, WarmEvent.BATCH_FAIL)


def ended(n=1):
    return lambda evs: sum(e.kind in (WarmEvent.COMPLETE, WarmEvent.INCOMPLETE) for e in evs) >= n


def completed(evs):
    return any(e.kind is WarmEvent.COMPLETE for e in evs)


def rig(tmp_path, source, **kw):
    bus, rec = EventBus(), Recorder()
    bus.subscribe(cache.CacheWriter(tmp_path / cache.FILENAME))
    log = FileLog(tmp_path / "cache_warm.log").open()
    bus.subscribe(log)
    bus.subscribe(rec)
    kw.setdefault("interval_s", 0.03)
    kw.setdefault("backoff_ticks", 0)
    warmer = Warmer(build_plan([PROJECT]), source, bus, **kw)
    return warmer, rec, log


def region_hits(emulator, region):
    return [r for r in emulator.requests() if r.region == region]


def test_all_checks_failing_is_an_error_everywhere_then_it_heals_alone(make_emulator, tmp_path):
    emulator = make_emulator(faults=["403"])  # the user cannot read the project
    source = ComputeSource(emulator.url, timeout_s=2)
    warmer, rec, log = rig(tmp_path, source, retry_first_s=0.3, rewarm_s=1e9)
    warmer.start()
    try:
        events = rec.wait_for(ended(), timeout=30)
        end = events[-1]
        assert end.kind is WarmEvent.INCOMPLETE and end.level is Level.ERROR
        assert end.data["failed"] == 38 and "permission denied" in end.data["reasons"][0]
        snap = cache.load(tmp_path / cache.FILENAME)
        assert snap.warmer["level"] == "error" and snap.cycle(PROJECT)["failed"] == 38
        assert not snap.is_complete(PROJECT)
        health = warmer.health()
        assert health["failed"] == 38 and health["retry_in_s"] is not None
        text = (tmp_path / "cache_warm.log").read_text()
        assert "💥 CACHE_WARM_INCOMPLETE: GPU 20/20, C3 18/18 in" in text
        assert "38 failed (proj-a/" in text and "CACHE_WARM_COMPLETE" not in text

        emulator.clear_faults()  # the user fixed the permission; nobody clicks anything
        events = rec.wait_for(completed, timeout=30)
    finally:
        warmer.stop()
        log.close()
    kinds = [e.kind for e in events]
    assert WarmEvent.RETRY in kinds
    assert kinds.index(WarmEvent.INCOMPLETE) < kinds.index(WarmEvent.RETRY)
    assert warmer.level is Level.COMPLETE
    snap = cache.load(tmp_path / cache.FILENAME)
    assert snap.warmer["level"] == "complete" and snap.is_complete(PROJECT)
    assert snap.cycle(PROJECT)["failed"] == 0
    assert (
        "🔁 CACHE_WARM_RETRY: 38 failed checks in 18 regions"
        in (tmp_path / "cache_warm.log").read_text()
    )


def test_every_batch_is_an_api_call_and_answers_fill_their_region(make_emulator, tmp_path):
    emulator = make_emulator(latency=2)
    warmer, rec, log = rig(tmp_path, ComputeSource(emulator.url, timeout_s=2))
    warmer.start()
    events = rec.wait_for(completed, timeout=60)
    warmer.stop()
    log.close()
    batches = [e for e in events if e.kind in BATCHES]
    requests = [r for r in emulator.requests() if r.region]
    assert all(e.data["api_calls"] >= 1 for e in batches)  # no 0 ms batch without a call
    assert sum(e.data["api_calls"] for e in batches) == len(requests) == 18
    assert len(batches) < 20  # 4 of the 20 ticks of old made no call: they are gone
    assert warmer.metrics.summary()["batches"] == len(batches)
    snap = cache.load(tmp_path / cache.FILENAME)
    central = [c for c in snap.checks(PROJECT) if c["region"] == "us-central1"]
    assert len(central) == 6 and len({c["fetched_at"] for c in central}) == 1


def test_no_value_is_stale_while_a_periodic_rewarm_replaces_it(make_emulator, tmp_path):
    emulator = make_emulator(latency=2)
    source = ComputeSource(emulator.url, timeout_s=2)
    warmer, rec, log = rig(tmp_path, source, rewarm_s=0.8, retry_first_s=1e9)
    warmer.start()
    try:
        rec.wait_for(completed, 60)
        emulator.latency = Latency(ms=50)  # the re-warm meets a slower API: it falls behind
        events = rec.wait_for(lambda evs: sum(e.kind is WarmEvent.COMPLETE for e in evs) >= 2, 60)
    finally:
        warmer.stop()
        log.close()
    rewarm = next(i for i, e in enumerate(events) if e.kind is WarmEvent.REWARM)
    second = [e for e in events[rewarm:] if e.snapshot is not None]
    assert len(second) > 10
    for event in second:  # every reader, at every write of the re-warm, by the writer's age
        snap = cache.Snapshot(event.snapshot)
        assert snap.is_complete(PROJECT, now=event.at), (event.kind, snap.max_age_s)


class JumpClock:
    """The warmer's clock: real time, plus the jumps a test makes."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.monotonic() + self.offset

    def jump(self, seconds: float) -> None:
        self.offset += seconds


# With the defaults (re-warm every 30 minutes, retries 1, 2, 4, 8, 16 minutes apart) a cycle has
# its first round and four retry rounds, at about 0, 1, 3, 7 and 15 minutes; the fifth retry,
# 31 minutes in, is past the re-warm. Each round asks a failing call at most three times.
ROUNDS_PER_CYCLE = 5
PER_CYCLE = 3 * ROUNDS_PER_CYCLE


@pytest.mark.parametrize(
    ("fault", "target"),
    [("503@us-west2", "us-west2"), ("503@cloudquotas", QUOTAS_TARGET)],
    ids=["region", "family-quota"],
)
def test_a_call_that_always_fails_keeps_its_budget_with_retries_on(
    make_emulator, tmp_path, fault, target
):
    """Retries at their defaults, on a clock the test moves forward: one whole cycle."""
    emulator = make_emulator(faults=[fault, "404@us-east1"])
    clock = JumpClock()
    source = GoogleSource(emulator.url, emulator.url, timeout_s=2)
    warmer, rec, log = rig(tmp_path, source, clock=clock, wall_clock=lambda: 1.7e9 + clock())
    began = clock()
    warmer.start()
    try:
        rec.wait_for(ended(1), timeout=60)
        for n in range(2, 20):  # jump to each retry, until the re-warm comes first
            wait = warmer.health()["retry_in_s"]
            to_rewarm = began + 1800 - clock()
            if wait is None or wait >= to_rewarm:
                clock.jump(to_rewarm + 1)
                events = rec.wait_for(lambda evs: WarmEvent.REWARM in [e.kind for e in evs])
                break
            clock.jump(wait + 0.1)
            rec.wait_for(ended(n), timeout=60)
        else:
            raise AssertionError("rounds went on and on; the re-warm never came first")
    finally:
        warmer.stop()
        log.close()
    rewarm = next(e for e in events if e.kind is WarmEvent.REWARM)
    rounds = [e for e in events if e.kind in (WarmEvent.COMPLETE, WarmEvent.INCOMPLETE)]
    assert [e.kind for e in rounds] == [WarmEvent.INCOMPLETE] * ROUNDS_PER_CYCLE
    assert [e.data["retry_in_s"] for e in rounds] == [60, 120, 240, 480, 960]
    asked = [r for r in emulator.requests() if r.region == target and r.wall < rewarm.at]
    assert len(asked) == PER_CYCLE == 15
    assert {r.status for r in asked} == {503}
    missing = [r for r in emulator.requests() if r.region == "us-east1"]
    assert len(missing) == 1  # a region that does not exist: asked once, retries or not
    assert warmer.health()["not_found"] == ["proj-a/us-east1"]
    snap = cache.load(tmp_path / cache.FILENAME)
    east1 = [c for c in snap.checks(PROJECT) if c["region"] == "us-east1"]
    assert all("no such region or project" in c["error"] for c in east1)


def test_a_failing_cycle_logs_no_success_mark(make_emulator, tmp_path):
    emulator = make_emulator(faults=["503@us-west2"])
    warmer, rec, log = rig(tmp_path, ComputeSource(emulator.url, timeout_s=2))
    warmer.start()
    try:
        rec.wait_for(ended(), timeout=60)
    finally:
        warmer.stop()
        log.close()
    lines = (tmp_path / "cache_warm.log").read_text(encoding="utf-8").splitlines()
    assert any("🔥 BATCH_WARM" in line for line in lines)  # fast batches, in a 💥 cycle
    assert any("💥 CACHE_WARM_INCOMPLETE" in line for line in lines)
    assert [line for line in lines if "✅" in line] == []


def test_a_trickling_region_times_out_and_the_cycle_goes_on(make_emulator, tmp_path):
    emulator = make_emulator(faults=["trickle@us-east4"])
    source = ComputeSource(emulator.url, timeout_s=0.5)  # each read gets a byte in time
    warmer, rec, log = rig(tmp_path, source, fetch_deadline_s=0.5)
    started = time.monotonic()
    warmer.start()
    events = rec.wait_for(ended(), timeout=30)
    warmer.stop()
    log.close()
    assert time.monotonic() - started < 15
    end = events[-1]
    assert end.kind is WarmEvent.INCOMPLETE and end.data["failed"] == 1
    assert "timed out" in end.data["reasons"][0] and "us-east4" in end.data["reasons"][0]
    snap = cache.load(tmp_path / cache.FILENAME)
    others = [c for c in snap.checks(PROJECT) if c["region"] != "us-east4"]
    assert all(c["status"] in ("ok", "absent") for c in others)
    assert len(region_hits(emulator, "us-east4")) == 3


def test_run_once_ends_with_a_trickling_region(make_emulator, tmp_path):
    emulator = make_emulator(faults=["trickle@us-east4"])
    env = isolated_env(tmp_path / "home")
    env.pop("DISPLAY", None)
    started = time.monotonic()
    out = subprocess.run(
        [
            *(sys.executable, "-m", "trayapp", "run", "--once", "--project", PROJECT),
            *("--endpoint", emulator.url, "--interval", "0.05", "--timeout", "0.5"),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert out.returncode == 1, out.stderr
    assert time.monotonic() - started < 60
    assert "💥 CACHE_WARM_INCOMPLETE" in out.stdout and "timed out" in out.stdout
    assert "CACHE_WARM_COMPLETE" not in out.stdout


class TokenServer:
    """A loopback OAuth token endpoint: drops connections, is busy (503), refuses the grant,
    or answers."""

    def __init__(self) -> None:
        self.mode = "drop"
        self.hits = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                return None

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                outer.hits += 1
                if outer.mode == "drop":  # the network went away mid-refresh
                    self.close_connection = True
                    self.connection.close()
                    return
                if outer.mode == "revoked":
                    status, body = 400, {"error": "invalid_grant", "error_description": "Bad"}
                elif outer.mode == "busy":  # the token service is briefly overloaded
                    status, body = 503, {"error": "temporarily_unavailable"}
                else:
                    status, body = 200, {"access_token": "ya29.t", "expires_in": 3600}
                raw = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/token"
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def token_server():
    server = TokenServer()
    yield server
    server.close()


def user_credentials(server: TokenServer):
    """Real google-auth user credentials whose token refresh goes to the loopback server."""
    from google.oauth2.credentials import Credentials

    return Credentials(
        token=None,
        refresh_token="1//refresh",
        token_uri=server.url,
        client_id="id.apps.googleusercontent.com",
        client_secret="not-a-secret",
    )


@pytest.mark.parametrize("trouble", ["drop", "busy"])  # TransportError, retryable RefreshError
def test_a_network_blip_while_the_token_refreshes_is_transient(
    make_emulator, tmp_path, token_server, trouble
):
    emulator = make_emulator()
    token_server.mode = trouble
    source = ComputeSource(emulator.url, timeout_s=2, credentials=user_credentials(token_server))
    warmer, rec, log = rig(tmp_path, source, retry_first_s=0.2, rewarm_s=1e9)
    warmer.start()
    try:
        first = rec.wait_for(lambda evs: any(e.kind is WarmEvent.BATCH_FAIL for e in evs))
        fail = next(e for e in first if e.kind is WarmEvent.BATCH_FAIL)
        assert fail.error_kind == "unavailable"
        assert "could not refresh the login token" in fail.message
        assert "gcloud" not in fail.message
        assert WarmEvent.ERROR not in rec.kinds()  # not a lost login: nothing stopped
        token_server.mode = "ok"  # the Wi-Fi is back
        events = rec.wait_for(completed, timeout=30)
    finally:
        warmer.stop()
        log.close()
    assert all(r.status == 200 for r in emulator.requests() if r.region)
    assert events[-1].data["failed"] == 0


def test_a_revoked_login_is_auth_and_heals_once_fixed(make_emulator, tmp_path, token_server):
    emulator = make_emulator()
    token_server.mode = "revoked"
    source = ComputeSource(emulator.url, timeout_s=2, credentials=user_credentials(token_server))
    warmer, rec, log = rig(tmp_path, source, retry_first_s=0.3, rewarm_s=1e9)
    warmer.start()
    try:
        events = rec.wait_for(ended())
        error = next(e for e in events if e.kind is WarmEvent.ERROR)
        assert error.error_kind == "auth" and "gcloud auth application-default login" in (
            error.message
        )
        assert events[-1].kind is WarmEvent.INCOMPLETE and events[-1].data["failed"] == 38
        token_server.mode = "ok"  # the user logged in again
        events = rec.wait_for(completed, timeout=30)
    finally:
        warmer.stop()
        log.close()
    assert events[-1].level is Level.COMPLETE
    assert "1//refresh" not in (tmp_path / "cache_warm.log").read_text()
