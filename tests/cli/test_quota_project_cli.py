"""``run --once`` as a user runs it, against the emulator in its strict mode (a Cloud Quotas
request without a quota project is refused, as Google refuses a user login with none): the
header the real fetcher process sends, from the checked project, ``[auth] quota_project`` or
the ADC file, and the fix a refusal names."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from userdirs import headless_env, run_cli, wait_until

from trayapp.emulator.quotas import TARGETS


@pytest.fixture
def env(tmp_path):
    return headless_env(tmp_path / "home")


def run_once(env, emulator, *extra):
    return run_cli(
        env, "run", "--once", "--project", "p", "--endpoint", emulator.url, "--interval", "0.05",
        *extra,
    )  # fmt: skip


def quota_projects(emulator):
    """The quota project of every Cloud Quotas request the emulator saw."""
    return {r.quota_project for r in emulator.requests() if r.region in TARGETS}


def config(tmp_path, text):
    path = tmp_path / "config.toml"
    path.write_text(text)
    return str(path)


def test_with_no_quota_project_set_the_checked_project_is_sent_and_answered(env, make_emulator):
    strict = make_emulator(require_quota_project=True)
    out = run_once(env, strict, "--gpu-service", "vertex")
    assert out.returncode == 0, out.stdout + out.stderr
    assert quota_projects(strict) == {"p"}
    assert {r.status for r in strict.requests() if r.region in TARGETS} == {200}


def test_the_config_key_and_then_the_adc_file_name_the_quota_project(env, make_emulator, tmp_path):
    strict = make_emulator(require_quota_project=True)
    cfg = config(tmp_path, '[auth]\nquota_project = "billing-home"\n')
    assert run_once(env, strict, "--config", cfg).returncode == 0
    assert quota_projects(strict) == {"billing-home"}
    adc = tmp_path / "adc.json"  # a login whose user ran set-quota-project
    adc.write_text(json.dumps({"type": "authorized_user", "quota_project_id": "adc-home"}))
    strict.requests(reset=True)
    env = {**env, "GOOGLE_APPLICATION_CREDENTIALS": str(adc)}
    assert run_once(env, strict, "--config", cfg).returncode == 0
    assert quota_projects(strict) == {"adc-home"}


def test_a_quota_project_without_the_api_is_named_with_its_fix(env, make_emulator, tmp_path):
    emulator = make_emulator(latency=2, faults=["403:SERVICE_DISABLED@cloudquotas"])
    cfg = config(tmp_path, '[auth]\nquota_project = "billing-home"\n')
    out = run_once(env, emulator, "--config", cfg)
    assert out.returncode == 1, out.stderr  # the family quota is unknown: 💥
    fix = '"gcloud auth application-default set-quota-project p"'
    shown = run_cli(env, "show", "--metric", "H100")
    assert "billed to billing-home" in shown.stdout and fix in shown.stdout
    log = (Path(env["XDG_STATE_HOME"]) / "quota-tray" / "log" / "cache_warm.log").read_text()
    notice = [line for line in log.splitlines() if "ℹ️ CACHE_WARM_NOTICE: " in line]
    assert len(notice) == 1 and fix in notice[0]
    assert "services enable" not in log  # enabling it in p would change nothing


def test_a_bad_quota_project_in_the_config_is_bad_usage(env, tmp_path):
    cfg = config(tmp_path, '[auth]\nquota_project = "Billing Home"\n')
    out = run_cli(env, "run", "--once", "--project", "p", "--config", cfg)
    assert out.returncode == 2
    assert "auth.quota_project: 'Billing Home' is not a project ID" in out.stderr


def test_a_reloaded_quota_project_is_said_to_wait_for_the_next_start(env, make_emulator, tmp_path):
    emulator = make_emulator()
    cfg = tmp_path / "config.toml"
    cfg.write_text('projects = ["p"]\ninterval_s = 0.05\n')
    log = Path(env["XDG_STATE_HOME"]) / "quota-tray" / "log" / "cache_warm.log"
    argv = [sys.executable, "-m", "trayapp", "run", "--headless", "--endpoint", emulator.url]
    proc = subprocess.Popen(
        [*argv, "--config", str(cfg)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until(lambda: run_cli(env, "status").returncode == 0, "status answered", proc=proc)
        cfg.write_text('projects = ["p"]\ninterval_s = 0.05\n[auth]\nquota_project = "b-home"\n')
        proc.send_signal(signal.SIGHUP)
        note = "the auth.quota_project change takes effect at the next start"
        wait_until(
            lambda: log.exists() and note in log.read_text(encoding="utf-8"), "the note", proc=proc
        )
        assert run_cli(env, "quit").returncode == 0
        proc.wait(30)
    finally:
        proc.kill()
        proc.wait()
