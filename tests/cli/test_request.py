"""``quota-tray request`` as users run it, against the emulator with the real
google-cloud-quotas client: one QuotaPreference filed for the quota the check reads, updated
(never duplicated) when asked again, nothing filed on a dry run or a refusal, the email never
printed or logged in full."""

from __future__ import annotations

from pathlib import Path

import pytest
from userdirs import headless_env, run_cli

EMAIL = "you@example.com"
MASKED = "y**@example.com"
VERTEX_B200 = """
[gpu]
service = "vertex"
metrics = ["NVIDIA_B200_GPUS", "NVIDIA_A100_GPUS"]
regions = ["us-central1", "us-east1"]
[c3]
regions = ["us-central1"]
"""


@pytest.fixture
def env(tmp_path):
    return headless_env(tmp_path / "home")


@pytest.fixture
def emulator(make_emulator):
    return make_emulator()


def warm(env, emulator, *args: str) -> None:
    done = run_cli(
        env,
        "run",
        "--once",
        "--project",
        "p",
        "--endpoint",
        emulator.url,
        "--interval",
        "0.02",
        *args,
    )
    assert done.returncode == 0, done.stderr


def ask(env, emulator, *args: str):
    return run_cli(
        env, "request", "--project", "p", "--endpoint", emulator.url, "--email", EMAIL, *args
    )


def writes(emulator) -> list[str]:
    return [r.method for r in emulator.requests() if r.method in ("POST", "PATCH")]


def everything_said(env, *results) -> str:
    logs = [p.read_text() for p in Path(env["XDG_STATE_HOME"]).rglob("*.log")]
    return "\n".join([*(r.stdout + r.stderr for r in results), *logs])


def test_files_one_preference_and_updates_it_when_asked_again(env, emulator):
    warm(env, emulator)
    first = ask(
        env,
        emulator,
        "--metric",
        "H100",
        "--region",
        "us-central1",
        "--value",
        "32",
        "--justification",
        "training run",
        "--yes",
    )
    assert first.returncode == 0, first.stderr
    assert "from 16 to 32" in first.stdout and "GPUS-PER-GPU-FAMILY-per-project-region" in (
        first.stdout
    )
    [kept] = emulator.preferences.stored("p")
    assert kept["service"] == "compute.googleapis.com"
    assert kept["quotaId"] == "GPUS-PER-GPU-FAMILY-per-project-region"
    assert kept["dimensions"] == {"region": "us-central1", "gpu_family": "NVIDIA_H100"}
    assert kept["quotaConfig"]["preferredValue"] == "32"
    assert kept["contactEmail"] == EMAIL and kept["justification"] == "training run"
    again = ask(
        env, emulator, "--metric", "H100", "--region", "us-central1", "--value", "40", "--yes"
    )
    assert again.returncode == 0, again.stderr
    [kept_again] = emulator.preferences.stored("p")  # the same one, updated
    assert kept_again["name"] == kept["name"]
    assert kept_again["quotaConfig"]["preferredValue"] == "40"
    said = everything_said(env, first, again)
    assert EMAIL not in said and MASKED in said


def test_dry_run_validates_with_google_and_files_nothing(env, emulator):
    warm(env, emulator)
    dry = ask(
        env, emulator, "--metric", "H100", "--region", "us-central1", "--value", "32", "--dry-run"
    )
    assert dry.returncode == 0, dry.stderr
    assert "nothing filed" in dry.stdout
    patches = [r for r in emulator.requests() if r.method == "PATCH"]
    assert len(patches) == 1 and "validateOnly=true" in patches[0].path
    assert emulator.preferences.stored("p") == []
    assert EMAIL not in everything_said(env, dry)


def test_an_ineligible_quota_is_refused_before_anything_is_sent(env, emulator, tmp_path):
    config = tmp_path / "config.toml"
    config.write_text(VERTEX_B200)
    warm(env, emulator, "--config", str(config))
    shown = run_cli(env, "show", "--json")
    b200 = [
        c
        for c in __import__("json").loads(shown.stdout)["projects"]["p"]["checks"]
        if c["metric"] == "NVIDIA_B200_GPUS"
    ]
    assert {c["eligibility"] for c in b200} == {"not_enough_usage_history"}
    emulator.requests(reset=True)
    refused = ask(
        env,
        emulator,
        "--metric",
        "B200",
        "--region",
        "us-central1",
        "--value",
        "16",
        "--yes",
        "--config",
        str(config),
    )
    assert refused.returncode == 2
    assert "cannot be raised: not enough usage history" in refused.stderr
    assert writes(emulator) == [] and emulator.preferences.stored("p") == []


def test_show_says_whether_a_full_quota_may_be_raised(env, emulator, tmp_path):
    config = tmp_path / "config.toml"
    config.write_text(VERTEX_B200)
    warm(env, emulator, "--config", str(config))
    table = run_cli(env, "show", "--metric", "A100", "--region", "us-east1").stdout
    assert "may be raised" in table  # A100 in us-east1: a limit of 0
    table = run_cli(env, "show", "--metric", "B200", "--region", "us-east1").stdout
    assert "cannot be raised: not enough usage history" in table  # not offered there


def test_a_value_not_above_the_limit_is_refused(env, emulator):
    warm(env, emulator)
    refused = ask(
        env, emulator, "--metric", "H100", "--region", "us-central1", "--value", "16", "--yes"
    )
    assert refused.returncode == 2
    assert "not above today's limit of 16" in refused.stderr
    assert writes(emulator) == []


def test_refusals_before_anything_is_sent(env, emulator):
    no_cache = ask(env, emulator, "--metric", "H100", "--region", "us-central1", "--value", "32")
    assert no_cache.returncode == 2 and "not warmed" in no_cache.stderr
    warm(env, emulator)
    no_email = run_cli(
        env,
        "request",
        "--project",
        "p",
        "--endpoint",
        emulator.url,
        "--metric",
        "H100",
        "--region",
        "us-central1",
        "--value",
        "32",
        "--yes",
    )
    assert no_email.returncode == 2 and "--email" in no_email.stderr
    unasked = ask(env, emulator, "--metric", "H100", "--region", "us-central1", "--value", "32")
    assert unasked.returncode == 2 and "no terminal" in unasked.stderr  # no --yes, no terminal
    assert writes(emulator) == []


def test_a_403_names_the_permission_and_the_role(env, emulator):
    warm(env, emulator)
    emulator.add_fault("403@cloudquotas#1")
    denied = ask(
        env, emulator, "--metric", "H100", "--region", "us-central1", "--value", "32", "--yes"
    )
    assert denied.returncode == 1
    assert "cloudquotas.quotas.update" in denied.stderr
    assert "roles/cloudquotas.admin" in denied.stderr
    assert emulator.preferences.stored("p") == []
