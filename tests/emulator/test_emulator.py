"""The Compute API emulator over real HTTP: answers, determinism, faults, latency, lifecycle."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from emulator_fixtures import *  # noqa: F403
from hypothesis import given, settings
from hypothesis import strategies as st

from trayapp.emulator.faults import DEMO_LATENCY_MS, Fault, Latency, parse_fault
from trayapp.emulator.quotas import FAMILY_ONLY_METRICS
from trayapp.emulator.server import KNOWN_REGIONS, Emulator, expected_quotas
from trayapp.warming.levels import Level, Thresholds
from trayapp.warming.plan import (
    DEFAULT_C3_REGIONS,
    DEFAULT_GPU_METRICS,
    DEFAULT_GPU_REGIONS,
    build_plan,
)

ROOT = Path(__file__).resolve().parents[2]
REGION_PATH = "/compute/v1/projects/{}/regions/{}"


def get(url: str, timeout: float = 10.0) -> tuple[int, bytes]:
    """(status, body) of a GET; error statuses are answers too."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def get_region(emulator: Emulator, region: str, project: str = "proj-a") -> tuple[int, bytes]:
    return get(emulator.url + REGION_PATH.format(project, region))


def error_reason(body: bytes) -> str:
    return json.loads(body)["error"]["errors"][0]["reason"]


def test_region_answer_has_the_shape_of_compute(emulator: Emulator) -> None:
    status, body = get_region(emulator, "us-central1")
    assert status == 200
    region = json.loads(body)
    assert region["kind"] == "compute#region"
    assert region["name"] == region["description"] == "us-central1"
    assert region["status"] == "UP"
    assert region["id"].isdigit()
    assert region["selfLink"] == emulator.url + REGION_PATH.format("proj-a", "us-central1")
    assert region["zones"] and all("/zones/us-central1-" in z for z in region["zones"])
    metrics = {q["metric"] for q in region["quotas"]}
    assert {
        "CPUS",
        "C2_CPUS",
        "C3_CPUS",
        "N2_CPUS",
        "DISKS_TOTAL_GB",
        "IN_USE_ADDRESSES",
    } <= metrics
    assert {
        "NVIDIA_T4_GPUS",
        "PREEMPTIBLE_NVIDIA_T4_GPUS",
        "PREEMPTIBLE_NVIDIA_H100_GPUS",
    } <= metrics
    # like the live API: no on-demand H100, nothing for H100 Mega or H200 (Cloud Quotas has them)
    assert not {"NVIDIA_H100_GPUS", "NVIDIA_H200_GPUS", "PREEMPTIBLE_NVIDIA_H200_GPUS"} & metrics
    assert len(metrics) > 30
    for quota in region["quotas"]:
        assert isinstance(quota["limit"], float)
        assert isinstance(quota["usage"], float)
        assert 0 <= quota["usage"] <= quota["limit"]
    served = {q["metric"]: (q["limit"], q["usage"]) for q in region["quotas"]}
    assert served == expected_quotas("proj-a", "us-central1")


def test_answers_are_deterministic_across_instances(make_emulator) -> None:
    first, second = make_emulator(), make_emulator()
    for region in ("us-east1", "europe-west4"):
        a = json.loads(get_region(first, region)[1])["quotas"]
        b = json.loads(get_region(second, region)[1])["quotas"]
        assert a == b
    assert expected_quotas("proj-a", "us-east1") == expected_quotas("proj-a", "us-east1")
    assert expected_quotas("proj-a", "us-east1") != expected_quotas("proj-b", "us-east1")


@settings(max_examples=60, deadline=None)
@given(project=st.text(min_size=1, max_size=30), region=st.sampled_from(KNOWN_REGIONS))
def test_expected_quotas_are_plausible(project: str, region: str) -> None:
    quotas = expected_quotas(project, region)
    assert quotas == expected_quotas(project, region)
    assert "CPUS" in quotas
    for limit, usage in quotas.values():
        assert isinstance(limit, float)
        assert isinstance(usage, float)
        assert 0 <= usage <= limit


def test_gpu_metrics_exist_only_where_the_gpu_does() -> None:
    def regions_with(metric: str) -> set[str]:
        return {r for r in KNOWN_REGIONS if metric in expected_quotas("p", r)}

    assert 1 <= len(regions_with("NVIDIA_A100_80GB_GPUS")) <= 4
    a100 = regions_with("NVIDIA_A100_GPUS")
    assert a100 & set(DEFAULT_GPU_REGIONS)
    assert set(DEFAULT_GPU_REGIONS) - a100
    assert set(DEFAULT_GPU_REGIONS) <= regions_with("NVIDIA_T4_GPUS")
    assert set(DEFAULT_C3_REGIONS) <= regions_with("C3_CPUS")
    for metric in DEFAULT_GPU_METRICS:  # every default check but H100/H200 can be "ok" here
        if metric in FAMILY_ONLY_METRICS:  # those come from the family quota, as live
            assert not regions_with(metric), metric
        else:
            assert regions_with(metric) & set(DEFAULT_GPU_REGIONS), metric
    with pytest.raises(KeyError):
        expected_quotas("p", "mars-north1")


def test_region_list_pages(emulator: Emulator) -> None:
    base = emulator.url + "/compute/v1/projects/proj-a/regions"
    names: list[str] = []
    token = ""
    for _ in range(20):
        status, body = get(f"{base}?maxResults=5&pageToken={token}")
        assert status == 200
        page = json.loads(body)
        assert page["kind"] == "compute#regionList"
        assert len(page["items"]) <= 5
        names += [item["name"] for item in page["items"]]
        token = page.get("nextPageToken", "")
        if not token:
            break
    assert sorted(names) == sorted(KNOWN_REGIONS)
    whole = json.loads(get(base)[1])
    assert "nextPageToken" not in whole
    assert [item["name"] for item in whole["items"]] == sorted(KNOWN_REGIONS)
    assert get(base + "?maxResults=0")[0] == 400
    assert get(base + "?pageToken=nonsense")[0] == 400


def test_unknown_region_and_path_are_google_404s(emulator: Emulator) -> None:
    status, body = get_region(emulator, "mars-north1")
    assert status == 404
    error = json.loads(body)["error"]
    assert error["code"] == 404
    assert error["errors"][0]["reason"] == "notFound"
    assert "mars-north1" in error["message"]
    status, body = get(emulator.url + "/compute/v1/projects/p/zones")
    assert status == 404
    assert error_reason(body) == "notFound"


@pytest.mark.parametrize(
    ("spec", "status", "reason"),
    [
        ("403", 403, "forbidden"),
        ("403:rateLimitExceeded", 403, "rateLimitExceeded"),
        ("403:userRateLimitExceeded", 403, "userRateLimitExceeded"),
        ("404", 404, "notFound"),
        ("429", 429, "rateLimitExceeded"),
        ("500", 500, "backendError"),
        ("503", 503, "backendError"),
    ],
)
def test_http_faults_answer_google_errors(
    emulator: Emulator, spec: str, status: int, reason: str
) -> None:
    emulator.add_fault(f"{spec}@us-east1")
    got_status, body = get_region(emulator, "us-east1")
    assert got_status == status
    assert error_reason(body) == reason
    assert json.loads(body)["error"]["code"] == status
    assert get_region(emulator, "us-west1")[0] == 200  # other regions unaffected


def test_broken_body_and_no_quotas(emulator: Emulator) -> None:
    emulator.add_fault("broken_body@us-east1")
    emulator.add_fault(Fault("no_quotas", region="us-west1"))
    status, body = get_region(emulator, "us-east1")
    assert status == 200
    with pytest.raises(json.JSONDecodeError):
        json.loads(body)
    status, body = get_region(emulator, "us-west1")
    region = json.loads(body)
    assert status == 200
    assert "quotas" not in region
    assert region["quotaStatusWarning"]["code"] == "RESULT_INCOMPLETE"


def test_fault_targets_project_and_region(make_emulator) -> None:
    emulator = make_emulator(faults=["500@proj-b/*", Fault.http(403, region="europe-west1")])
    assert get_region(emulator, "us-east1", "proj-b")[0] == 500
    assert get_region(emulator, "us-east1", "proj-a")[0] == 200
    assert get_region(emulator, "europe-west1", "proj-a")[0] == 403
    list_url = emulator.url + "/compute/v1/projects/proj-b/regions"
    assert get(list_url)[0] == 500
    emulator.clear_faults()
    assert get_region(emulator, "us-east1", "proj-b")[0] == 200


def test_count_limited_fault_is_transient(emulator: Emulator) -> None:
    emulator.add_fault("503@us-east1#2")
    statuses = [get_region(emulator, "us-east1")[0] for _ in range(4)]
    assert statuses == [503, 503, 200, 200]
    assert emulator.faults.active() == []


def test_request_log_records_and_resets(emulator: Emulator) -> None:
    emulator.add_fault("429@us-east1#1")
    get_region(emulator, "us-east1")
    get_region(emulator, "us-east1")
    get_region(emulator, "nowhere-1")
    log = emulator.requests(reset=True)
    assert [(r.method, r.project, r.region, r.status) for r in log] == [
        ("GET", "proj-a", "us-east1", 429),
        ("GET", "proj-a", "us-east1", 200),
        ("GET", "proj-a", "nowhere-1", 404),
    ]
    assert log[0].fault == "http"
    assert log[1].fault is None
    assert log[0].path == REGION_PATH.format("proj-a", "us-east1")
    assert log[0].monotonic <= log[1].monotonic <= log[2].monotonic
    assert abs(log[0].wall - time.time()) < 60
    assert emulator.requests() == []


def _hang_in_thread(emulator: Emulator, region: str) -> tuple[threading.Thread, list[object]]:
    outcome: list[object] = []

    def call() -> None:
        try:
            outcome.append(get_region(emulator, region)[0])
        except (OSError, http.client.HTTPException) as exc:
            outcome.append(exc)

    thread = threading.Thread(target=call, daemon=True)
    thread.start()
    assert emulator.wait_for_requests(lambda log: any(r.status == "hang" for r in log), 5)
    return thread, outcome


def test_hang_ends_when_the_fault_is_cleared(emulator: Emulator) -> None:
    emulator.add_fault("hang@europe-west4")
    thread, outcome = _hang_in_thread(emulator, "europe-west4")
    assert thread.is_alive()
    emulator.clear_faults()
    thread.join(5)
    assert outcome == [200]
    assert [r.status for r in emulator.requests()] == ["hang", 200]


def test_stop_is_prompt_with_a_hung_request(make_emulator) -> None:
    emulator = make_emulator(faults=["hang"])
    thread, outcome = _hang_in_thread(emulator, "us-central1")
    started = time.monotonic()
    emulator.stop()
    assert time.monotonic() - started < 3
    thread.join(5)
    assert not thread.is_alive()
    assert len(outcome) == 1
    assert isinstance(outcome[0], OSError | http.client.HTTPException)  # dropped, unanswered
    with pytest.raises(OSError):
        get_region(emulator, "us-central1")  # the socket is closed


def test_stop_is_prompt_with_a_slow_answer(make_emulator) -> None:
    emulator = make_emulator(latency=Latency(ms=60_000))
    thread = threading.Thread(target=lambda: _quiet(get_region, emulator, "us-east1"), daemon=True)
    thread.start()
    deadline = time.monotonic() + 5
    while emulator.open_connections == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert emulator.open_connections == 1
    started = time.monotonic()
    emulator.stop()
    thread.join(5)
    assert time.monotonic() - started < 3
    assert not thread.is_alive()


def _quiet(func, *args) -> None:
    with contextlib.suppress(OSError, http.client.HTTPException):
        func(*args)


def test_refuses_non_loopback_unless_allowed() -> None:
    for host in ("0.0.0.0", "192.0.2.10", "example.com"):
        with pytest.raises(ValueError, match="allow_remote"):
            Emulator(host=host)
    Emulator(host="0.0.0.0", allow_remote=True)  # constructed, not started
    Emulator(host="localhost")
    Emulator(host="::1")
    Emulator(host="127.0.0.2")


def test_context_manager_and_url() -> None:
    emulator = Emulator()
    with pytest.raises(RuntimeError):
        _ = emulator.url
    with emulator as running:
        assert running.url.startswith("http://127.0.0.1:")
        assert get_region(running, "us-west1")[0] == 200
    emulator.stop()  # idempotent


def test_latency_profiles_without_sleeping() -> None:
    assert Latency(ms=40).delay_ms("us-east1") == 40
    assert Latency(ms=40, per_region={"us-east1": 900}).delay_ms("us-east1") == 900
    assert Latency(ms=40, scale=0.5).delay_ms(None) == 20
    heavy = Latency("heavy-tail", 200, seed=7)
    draws = [heavy.delay_ms("us-east1") for _ in range(3000)]
    again = Latency("heavy-tail", 200, seed=7)
    assert [again.delay_ms("us-east1") for _ in range(3000)] == draws
    ordered = sorted(draws)
    assert 150 < ordered[len(ordered) // 2] < 260  # median near 200
    assert ordered[-1] > 4 * 200  # a heavy tail
    assert min(draws) > 0
    with pytest.raises(ValueError):
        Latency("bursty")
    with pytest.raises(ValueError):
        Latency(ms=-1)


def _batch_times(latency: Latency, share_across_kinds: bool) -> list[float]:
    """The first cycle's batch wall times: one GPU and one C3 check per tick, fetched at once,
    each region fetched once per cycle (per kind, or shared between kinds)."""
    plan = build_plan(["demo-project"])
    fetched: dict[str, set[str]] = {"gpu": set(), "c3": set()}
    times = []
    for tick in range(max(len(plan.gpu), len(plan.c3))):
        costs = []
        for kind, checks in (("gpu", plan.gpu), ("c3", plan.c3)):
            if tick >= len(checks):
                continue
            seen = fetched["gpu"] | fetched["c3"] if share_across_kinds else fetched[kind]
            region = checks[tick].region
            costs.append(0.0 if region in seen else latency.delay_ms(region))
            fetched[kind].add(region)
        times.append(max(costs))
    return times


@pytest.mark.parametrize("share", [True, False])
def test_demo_profile_walks_through_every_level(share: bool) -> None:
    thresholds = Thresholds()
    times = _batch_times(Latency.demo(), share)
    levels = [thresholds.level(ms) for ms in times]
    assert set(levels) == {Level.FIRE, Level.WARN, Level.SLOWISH, Level.SLOW}
    # Request overhead only adds time: every batch stays 200 ms clear below the next boundary.
    for ms in times:
        assert thresholds.level(ms + 200) == thresholds.level(ms), ms
    first_of = {level: levels.index(level) for level in Level if level in levels}
    assert first_of[Level.FIRE] < first_of[Level.WARN] < first_of[Level.SLOWISH]
    assert first_of[Level.SLOWISH] < first_of[Level.SLOW]
    fast = _batch_times(Latency.demo(scale=0.05), share)
    assert fast == pytest.approx([ms * 0.05 for ms in times])
    assert set(DEMO_LATENCY_MS) == set(DEFAULT_C3_REGIONS)


def test_demo_latency_is_served(make_emulator) -> None:
    emulator = make_emulator(latency=Latency.demo(scale=0.01))
    assert emulator.latency.delay_ms("us-east5") == pytest.approx(22)
    assert get_region(emulator, "us-east5")[0] == 200


def test_fault_spec_syntax() -> None:
    fault = parse_fault("403:rateLimitExceeded@us-east1")
    assert (fault.action, fault.status, fault.reason, fault.region, fault.project) == (
        "http", 403, "rateLimitExceeded", "us-east1", None
    )  # fmt: skip
    assert parse_fault("503@my-project/us-west1#2") == Fault.http(
        503, "backendError", project="my-project", region="us-west1", count=2
    )
    assert parse_fault("hang@europe-west4") == Fault("hang", region="europe-west4")
    assert parse_fault("no-quotas") == Fault("no_quotas")
    assert parse_fault("broken_body@p/*#1") == Fault("broken_body", project="p", count=1)
    assert parse_fault("500@*").region is None
    for bad in ("", "hang:slowly", "999", "teapot", "503@us-east1#0", "503#x", "403@a@b"):
        with pytest.raises(ValueError, match="bad fault spec") as info:
            parse_fault(bad)
        assert "\n" not in str(info.value)
    with pytest.raises(ValueError, match="unknown region"):
        parse_fault("hang@us-east-1", KNOWN_REGIONS)


def test_command_line_serves_until_sigterm(tmp_path: Path) -> None:
    script = (
        "import argparse, sys\n"
        "from trayapp.emulator import cli as emulator_cli\n"
        "parser = argparse.ArgumentParser()\n"
        "emulator_cli.add_arguments(parser)\n"
        "sys.exit(emulator_cli.run_from_args(parser.parse_args(sys.argv[1:])))\n"
    )
    args = ["--profile", "demo", "--scale", "0.01", "--fault", "403:rateLimitExceeded@us-east1"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with subprocess.Popen(
        [sys.executable, "-c", script, *args], stdout=subprocess.PIPE, text=True, env=env
    ) as process:
        try:
            line = process.stdout.readline()
            url = line.split(" at ")[1].split()[0]
            assert url.startswith("http://127.0.0.1:")
            status, body = get(url + REGION_PATH.format("demo-project", "us-east1"))
            assert (status, error_reason(body)) == (403, "rateLimitExceeded")
            process.send_signal(signal.SIGTERM)
            assert process.wait(10) == 0
        finally:
            process.kill()


def test_command_line_rejects_bad_fault_specs() -> None:
    import argparse

    from trayapp.emulator import cli as module

    parser = argparse.ArgumentParser()
    module.add_arguments(parser)
    assert "WHAT[:REASON][@TARGET][#COUNT]" in parser.format_help().replace("\n", " ")
    args = parser.parse_args(["--fault", "503@us-east1#0"])
    with pytest.raises(ValueError, match="bad fault spec"):
        module.run_from_args(args, stop=threading.Event())
    with pytest.raises(ValueError, match="refusing"):
        module.run_from_args(parser.parse_args(["--host", "0.0.0.0"]), stop=threading.Event())


def test_ipv6_loopback() -> None:
    emulator = Emulator(host="::1")
    try:
        url = emulator.start()
    except OSError:
        pytest.skip("no IPv6 loopback here")
    try:
        assert url.startswith("http://[::1]:")
        assert get(url + REGION_PATH.format("p", "us-east1"))[0] == 200
    finally:
        emulator.stop()
