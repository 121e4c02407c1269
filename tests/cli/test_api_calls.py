""" "API calls", as users read them (the log, `stats`, the history), are the HTTP requests the
server received: a run through the real fetcher process and clients against the emulator,
whose own count is the judge. A Cloud Build list of two pages is two requests. The calls of
the enrichments (the project's quota requests, whether its quotas may be raised) are counted
apart."""

from __future__ import annotations

import json
import re

import pytest
from userdirs import headless_env, run_cli

PROJECT = "proj-calls"
DESIGN = ("--gpu-service", "vertex", "--spot", "--c3-service", "cloudbuild")


@pytest.fixture
def env(tmp_path):
    return headless_env(tmp_path / "home")


@pytest.mark.parametrize(
    ("flags", "faults", "calls"),
    [
        (DESIGN, [], (5 + 2, 1)),  # a QuotaInfo per GPU type, and the Cloud Build list's two pages
        ((), [], (18 + 1, 4 + 1)),  # 18 regions.get, one GPU family QuotaInfo; + the QuotaInfos
        #   saying whether T4, L4, A100 and C3 may be raised
        (DESIGN, ["503@cloudbuild#1"], (5 + 1 + 2, 1)),  # the failed first page is a request too
    ],
)
def test_api_calls_are_the_requests_the_server_received(make_emulator, env, flags, faults, calls):
    requests, extra = calls  # the checks' calls, and the enrichments' counted apart
    emulator = make_emulator(faults=faults)
    out = run_cli(
        env,
        "run",
        "--once",
        "--headless",
        "--project",
        PROJECT,
        "--endpoint",
        emulator.url,
        "--interval",
        "0.05",
        *flags,
    )
    assert out.returncode == 0, out.stderr
    assert emulator.received == requests + extra  # and the project's quota requests...
    said = re.findall(r"CACHE_WARM_COMPLETE: .* - (\d+) API calls \(\+(\d+) for", out.stdout)
    assert said == [(str(requests), str(extra))], out.stdout  # ...counted apart
    stats = run_cli(env, "stats", "--json")
    assert stats.returncode == 0, stats.stderr
    summary = json.loads(stats.stdout)
    assert summary["api_calls"] == requests  # the batches' sum, as the history keeps them
    assert [c["api_calls"] for c in summary["cycles"]] == [requests]
    assert f"{requests} API calls" in run_cli(env, "stats").stdout
