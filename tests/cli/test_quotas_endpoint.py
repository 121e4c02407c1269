"""``quotas_endpoint`` / ``--quotas-endpoint``: the defaulting rule, validation, and ``run
--once`` against the emulator when Cloud Quotas is disabled (a notice, exit 0)."""

from __future__ import annotations

from pathlib import Path

import pytest
from userdirs import headless_env, run_cli

from trayapp.config import ConfigError, Settings, from_mapping
from trayapp.emulator.quotas import QUOTAS_TARGET


@pytest.mark.parametrize(
    ("endpoint", "quotas", "expected"),
    [
        (None, None, "https://cloudquotas.googleapis.com"),
        ("https://compute.example.com", None, "https://cloudquotas.googleapis.com"),
        ("http://127.0.0.1:8089", None, "http://127.0.0.1:8089"),  # the emulator serves both
        ("http://[::1]:8089", None, "http://[::1]:8089"),
        ("http://localhost:8089", None, "http://localhost:8089"),
        ("http://127.0.0.1:8089", "https://q.example.com", "https://q.example.com"),
    ],
)
def test_the_quotas_endpoint_defaults_to_a_loopback_compute_endpoint(endpoint, quotas, expected):
    settings = Settings(**({"endpoint": endpoint} if endpoint else {}))
    settings = settings.with_overrides(quotas_endpoint=quotas)
    assert settings.cloudquotas_endpoint == expected


def test_config_key_is_validated():
    assert from_mapping({"quotas_endpoint": "http://127.0.0.1:1/"}).quotas_endpoint == (
        "http://127.0.0.1:1"
    )
    with pytest.raises(ConfigError, match="quotas_endpoint must start with http"):
        from_mapping({"quotas_endpoint": "ftp://x"})


def qt(env, *args):
    return run_cli(env, *args)


@pytest.fixture
def env(tmp_path):
    return headless_env(tmp_path / "home")


def test_plain_http_to_a_remote_quotas_endpoint_is_bad_usage(env):
    out = qt(env, "run", "--once", "--project", "p", "--quotas-endpoint", "http://example.com")
    assert out.returncode == 2
    assert "refusing plain http to http://example.com" in out.stderr


def test_once_exits_1_with_the_fix_when_cloud_quotas_is_disabled(env, make_emulator):
    emulator = make_emulator(latency=2, faults=["403:SERVICE_DISABLED@cloudquotas"])
    out = qt(
        env, "run", "--once", "--project", "p", "--endpoint", emulator.url, "--interval", "0.05"
    )
    assert out.returncode == 1, out.stderr  # H100/H200 unknown: failed checks, not "none"
    assert "CACHE_WARM_INCOMPLETE" in out.stdout and "CACHE_WARM_COMPLETE" not in out.stdout
    shown = qt(env, "show", "--metric", "H100")
    assert "not reported" not in shown.stdout
    assert "gcloud services enable cloudquotas.googleapis.com" in shown.stdout
    log = (Path(env["XDG_STATE_HOME"]) / "quota-tray" / "log" / "cache_warm.log").read_text()
    notice = [line for line in log.splitlines() if "ℹ️ CACHE_WARM_NOTICE: " in line]
    assert len(notice) == 1
    assert "gcloud services enable cloudquotas.googleapis.com --project p" in notice[0]
    # the defaulting rule at work: the family call went to the emulator, not to Google
    # and no extra (eligibility, requests) asks again what Cloud Quotas refused
    assert [r.status for r in emulator.requests() if r.region == QUOTAS_TARGET] == [403]


def test_the_demo_shows_h100_and_h200_family_answers(env):
    out = qt(env, "demo", "--once", "--speed", "20")
    assert out.returncode == 0, out.stderr
    shown = qt(env, "show", "--demo", "--metric", "H100", "--metric", "H200")
    assert shown.returncode == 0, shown.stderr
    rows = {(r[0], r[1]): r[2:] for r in map(str.split, shown.stdout.splitlines()[2:])}
    assert len(rows) == 8
    not_reported = {("us-east1", "H200"), ("us-west1", "H200")}  # no entry, no catch-all
    for key, (limit, usage, *rest) in rows.items():
        if key in not_reported:
            assert (limit, usage, rest[0], " ".join(rest[-2:])) == ("-", "-", "-", "not reported")
        else:
            assert usage == "unknown" and " ".join(rest[:2]) == f"≤ {limit}", key
