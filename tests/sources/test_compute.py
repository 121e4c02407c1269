"""The real google-cloud-compute client against the emulator over HTTP: values, and every
failure mapped to one SourceError kind with one line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from emulator_fixtures import *  # noqa: F403

from trayapp.emulator.server import KNOWN_REGIONS, Emulator, expected_quotas
from trayapp.sources.base import ERROR_KINDS, SourceError
from trayapp.sources.compute import ComputeSource, detect_project
from trayapp.sources.errors import ADC_HINT, classify

ROOT = Path(__file__).resolve().parents[2]


def fetch_error(source: ComputeSource, project: str = "proj-a", region: str = "us-east1"):
    with pytest.raises(SourceError) as info:
        source.fetch(project, region)
    error = info.value
    assert error.kind in ERROR_KINDS
    assert "\n" not in str(error)
    assert "Traceback" not in str(error)
    assert len(str(error)) < 400
    return error


def region_requests(emulator: Emulator, region: str) -> list:
    return [r for r in emulator.requests() if r.region == region]


def test_values_equal_what_the_emulator_serves(emulator, make_compute_source) -> None:
    source = make_compute_source(emulator.url)
    source.prepare()
    for project, region in [
        ("proj-a", "us-central1"),
        ("proj-b", "europe-west4"),
        ("proj-a", "southamerica-east1"),
    ]:
        quotas = source.fetch(project, region)
        assert quotas == expected_quotas(project, region)
        assert all(isinstance(v, float) for pair in quotas.values() for v in pair)
    assert "NVIDIA_H200_GPUS" not in source.fetch("proj-a", "us-east1")  # absent, not zero


def test_endpoint_with_trailing_slash_and_localhost(emulator, make_compute_source) -> None:
    url = emulator.url.replace("127.0.0.1", "localhost") + "/"
    source = make_compute_source(url)
    assert source.anonymous
    assert source.fetch("proj-a", "us-west1") == expected_quotas("proj-a", "us-west1")


@pytest.mark.parametrize(
    ("spec", "kind", "words"),
    [
        ("401", "auth", "HTTP 401"),
        ("403", "permission", "permission denied"),
        ("403:rateLimitExceeded", "rate_limited", "rateLimitExceeded"),
        ("403:userRateLimitExceeded", "rate_limited", "userRateLimitExceeded"),
        ("404", "not_found", "not found"),
        ("429", "rate_limited", "HTTP 429"),
        ("500", "unavailable", "HTTP 500"),
        ("400", "bad_response", "HTTP 400"),
        ("broken_body", "bad_response", "unreadable"),
        ("no_quotas", "bad_response", "RESULT_INCOMPLETE"),
    ],
)
def test_failures_map_to_kinds(emulator, make_compute_source, spec, kind, words) -> None:
    emulator.add_fault(f"{spec}@us-east1")
    error = fetch_error(make_compute_source(emulator.url))
    assert error.kind == kind
    assert words in error.message
    assert "proj-a/us-east1" in error.message
    assert emulator.url not in error.message  # the API's words, not the URL


def test_unknown_region_is_not_found(emulator, make_compute_source) -> None:
    error = fetch_error(make_compute_source(emulator.url), region="mars-north1")
    assert error.kind == "not_found"
    assert "mars-north1" in error.message


def test_region_without_quotas_is_an_error_not_zero(emulator, make_compute_source) -> None:
    emulator.add_fault("no_quotas@europe-west4")
    source = make_compute_source(emulator.url)
    error = fetch_error(source, region="europe-west4")
    assert error.kind == "bad_response"
    assert "europe-west4" in error.message
    assert "quota data unavailable (RESULT_INCOMPLETE)" in error.message
    assert source.fetch("proj-a", "us-east1")  # other regions fine


@pytest.mark.parametrize("spec", ["403:rateLimitExceeded", "429", "500", "503"])
def test_one_fetch_is_one_request_whatever_fails(emulator, make_compute_source, spec) -> None:
    """The warmer owns retries (and the per-region budget): the client never retries."""
    source = make_compute_source(emulator.url, timeout_s=2)
    emulator.add_fault(f"{spec}@us-east1")
    started = time.monotonic()
    error = fetch_error(source)
    assert time.monotonic() - started < 2  # the library's own retry would go on for 600 s
    assert error.kind in ("rate_limited", "unavailable")
    assert len(region_requests(emulator, "us-east1")) == 1
    emulator.clear_faults()
    assert source.fetch("proj-a", "us-east1") == expected_quotas("proj-a", "us-east1")


def test_hang_past_the_timeout_is_a_timeout(emulator, make_compute_source) -> None:
    emulator.add_fault("hang@us-east1")
    source = make_compute_source(emulator.url, timeout_s=0.3)
    started = time.monotonic()
    error = fetch_error(source)
    assert time.monotonic() - started < 3
    assert error.kind == "timeout"
    assert "0.3 s" in error.message
    assert [r.status for r in region_requests(emulator, "us-east1")] == ["hang"]  # not retried


def test_connection_refused_is_unavailable(refused_url, make_compute_source) -> None:
    source = make_compute_source(refused_url, timeout_s=2)
    started = time.monotonic()
    error = fetch_error(source)
    assert time.monotonic() - started < 5
    assert error.kind == "unavailable"
    assert "refused" in error.message.lower()


def test_stopped_emulator_mid_request_is_unavailable(make_emulator, make_compute_source) -> None:
    emulator = make_emulator(faults=["hang@us-east1"])
    source = make_compute_source(emulator.url, timeout_s=10)
    errors: list[SourceError] = []
    thread = threading.Thread(target=lambda: errors.append(fetch_error(source)), daemon=True)
    thread.start()
    assert emulator.wait_for_requests(lambda log: len(log) == 1, 5)
    emulator.stop()
    thread.join(5)
    assert [e.kind for e in errors] == ["unavailable"]


def test_no_credentials_is_auth_with_the_gcloud_hint(no_adc, make_compute_source) -> None:
    for source in (make_compute_source(), make_compute_source("https://compute.googleapis.com")):
        with pytest.raises(SourceError) as info:
            source.prepare()
        assert info.value.kind == "auth"
        assert ADC_HINT in info.value.message
        assert "\n" not in str(info.value)
        assert fetch_error(source).kind == "auth"  # fetch prepares lazily, same answer
    assert detect_project() is None


def test_missing_credentials_file_is_auth_too(no_adc, make_compute_source, monkeypatch) -> None:
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(no_adc / "nowhere.json"))
    error = fetch_error(make_compute_source())
    assert error.kind == "auth"
    assert ADC_HINT in error.message


def test_refresh_failure_is_auth_without_token_text(
    no_adc, emulator, make_compute_source, monkeypatch
) -> None:
    import google.auth
    from google.oauth2.credentials import Credentials

    credentials = Credentials(
        token=None,
        refresh_token="1//REFRESH-TOKEN-THAT-MUST-NOT-LEAK",
        client_id="cid.apps.googleusercontent.com",
        client_secret="CLIENT-SECRET-THAT-MUST-NOT-LEAK",
        token_uri=emulator.url + "/token",  # the emulator answers 404: the refresh fails
    )
    monkeypatch.setattr(google.auth, "default", lambda *a, **k: (credentials, "adc-project"))
    assert detect_project() == "adc-project"
    # https to loopback: default credentials are used, and refreshing them fails first
    source = make_compute_source(emulator.url.replace("http://", "https://"), timeout_s=2)
    error = fetch_error(source)
    assert error.kind == "auth"
    assert "MUST-NOT-LEAK" not in error.message
    assert [(r.method, r.path) for r in emulator.requests()] == [("POST", "/token")]


def test_detect_project_reads_the_adc_project(no_adc, monkeypatch) -> None:
    adc = no_adc / "adc.json"
    adc.write_text(
        json.dumps(
            {
                "type": "authorized_user",
                "client_id": "cid",
                "client_secret": "cs",
                "refresh_token": "rt",
                "quota_project_id": "quota-project",
            }
        )
    )
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(adc))
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", "adc-project")
    assert detect_project() == "adc-project"


def test_plain_http_to_a_remote_host_is_refused() -> None:
    with pytest.raises(ValueError, match="plain http"):
        ComputeSource("http://compute.example.com")
    for url in ("http://127.0.0.1:1", "http://127.8.0.1:1", "http://localhost:1", "http://[::1]:1"):
        assert ComputeSource(url).anonymous
    assert not ComputeSource("https://compute.googleapis.com").anonymous
    assert not ComputeSource().anonymous


def test_close_does_not_wait_for_a_hung_request(emulator, make_compute_source) -> None:
    emulator.add_fault("hang@us-east1")
    source = make_compute_source(emulator.url, timeout_s=10)
    source.prepare()
    outcome: list[object] = []

    def call() -> None:
        try:
            outcome.append(source.fetch("proj-a", "us-east1"))
        except SourceError as exc:
            outcome.append(exc)

    thread = threading.Thread(target=call, daemon=True)
    thread.start()
    assert emulator.wait_for_requests(lambda log: len(log) == 1, 5)
    started = time.monotonic()
    source.close()
    assert time.monotonic() - started < 1
    closed = fetch_error(source, region="us-west1")
    assert (closed.kind, "closed" in closed.message) == ("unavailable", True)
    emulator.clear_faults()  # the request in flight still gets its answer
    thread.join(5)
    assert outcome == [expected_quotas("proj-a", "us-east1")]
    source.prepare()  # reopens
    assert source.fetch("proj-a", "us-west1") == expected_quotas("proj-a", "us-west1")


def test_concurrent_first_fetches_build_one_client(emulator, make_compute_source) -> None:
    source = make_compute_source(emulator.url)
    built: list[object] = []
    original = source._build_client

    def counting() -> object:
        built.append(None)
        return original()

    source._build_client = counting  # type: ignore[method-assign]
    regions = list(KNOWN_REGIONS[:8])
    results: dict[str, object] = {}
    barrier = threading.Barrier(len(regions))

    def work(region: str) -> None:
        barrier.wait()
        results[region] = source.fetch("proj-a", region)

    threads = [threading.Thread(target=work, args=(r,)) for r in regions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(built) == 1
    assert results == {r: expected_quotas("proj-a", r) for r in regions}


def test_the_real_client_pages_through_the_region_list(emulator, make_compute_source) -> None:
    source = make_compute_source(emulator.url)
    source.prepare()
    client = source._client
    pages = client.list(request={"project": "proj-a", "max_results": 5}, retry=None, timeout=5)
    assert sorted(region.name for region in pages) == sorted(KNOWN_REGIONS)
    assert len(emulator.requests()) == -(-len(KNOWN_REGIONS) // 5)


def test_classify_handles_what_the_emulator_cannot_provoke() -> None:
    from google.api_core import exceptions as api
    from google.auth import exceptions as auth
    from google.protobuf import json_format

    forbidden = api.Forbidden("nope", errors=[{"reason": "quotaExceeded", "message": "slow down"}])
    assert classify(forbidden, "p/r", 1).kind == "rate_limited"
    assert classify(api.Forbidden("nope", errors=[]), "p/r", 1).kind == "permission"
    unavailable = api.ServiceUnavailable("down")
    assert classify(api.RetryError("gave up", unavailable), "p/r", 1).kind == "unavailable"
    assert classify(api.RetryError("deadline", None), "p/r", 1).kind == "timeout"
    assert classify(api.BadGateway("x"), "p/r", 1).kind == "unavailable"
    assert classify(api.GatewayTimeout("x"), "p/r", 1).kind == "unavailable"
    assert classify(api.Conflict("x"), "p/r", 1).kind == "bad_response"
    assert classify(api.Unauthorized("x"), "p/r", 1).kind == "auth"
    refresh = auth.RefreshError("invalid_grant: Bad Request", {"access_token": "ya29.SECRET"})
    error = classify(refresh, "p/r", 1)
    assert (error.kind, "invalid_grant" in error.message) == ("auth", True)
    assert "SECRET" not in error.message
    transport = classify(auth.TransportError("ya29.SECRET"), "p/r", 1)
    assert transport.kind == "unavailable" and "SECRET" not in transport.message
    assert "gcloud" not in transport.message  # a network blip is no reason to log in again
    flaky = auth.RefreshError("temporarily_unavailable", retryable=True)
    assert classify(flaky, "p/r", 1).kind == "unavailable"
    assert classify(json_format.ParseError("bad\njson"), "p/r", 1).kind == "bad_response"
    assert classify(TypeError("bad"), "p/r", 1).kind == "bad_response"
    odd = classify(RuntimeError("odd\nthing"), "p/r", 1)  # a bug: said as itself
    assert (odd.kind, odd.message) == (
        "internal",
        "p/r: internal error (RuntimeError: odd thing); see the log",
    )
    assert odd.trace.startswith("RuntimeError: odd thing")
    assert "\n" not in str(classify(json_format.ParseError("bad\njson"), "p/r", 1))


def test_importing_the_module_does_not_load_google() -> None:
    code = (
        "import sys, trayapp.sources.compute, trayapp.emulator.server\n"
        "print([m for m in sys.modules if m.split('.')[0] in ('google', 'requests', 'proto')])\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    assert out.stdout.strip() == "[]"
