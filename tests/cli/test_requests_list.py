"""``quota-tray requests`` as users run it: the quota increase requests in the cache, read
through the real google-cloud-quotas client from the emulator (one filed in its console),
listed with their state and age, ``--json`` for scripts; no network, exit 3 without a cache."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from userdirs import headless_env, run_cli

from trayapp.emulator.preferences import PreferenceStore

PROJECT = "demo-project"
FAMILY = ("compute.googleapis.com", "GPUS-PER-GPU-FAMILY-per-project-region")


@pytest.fixture
def env(tmp_path):
    return headless_env(tmp_path / "home")


def cache_path(env: dict[str, str]) -> Path:
    return Path(env["XDG_CACHE_HOME"]) / "quota-tray" / "quota-cache.json"


def warm_with_requests(env, emulator, lists: int) -> None:
    """``lists`` runs of ``run --once``: each lists the project's requests once, through the
    real client, and the cache keeps what the last one saw."""
    for _ in range(lists):
        done = run_cli(
            env, "run", "--once", "--project", PROJECT, "--endpoint", emulator.url,
            "--interval", "0.02",
        )  # fmt: skip
        assert done.returncode == 0, done.stderr


@pytest.mark.parametrize(("lists", "state"), [(1, "pending, asked 24"), (2, "granted 24 of 24")])
def test_the_requests_are_listed_with_state_and_age(env, make_emulator, lists, state):
    emulator = make_emulator()
    emulator.preferences = PreferenceStore(outcome="granted", after=2)
    warm_with_requests(env, emulator, lists)
    before = len(emulator.requests())
    done = run_cli(env, "requests")
    assert done.returncode == 0, done.stderr
    assert f"H100 in us-central1: {state} · just now" in done.stdout
    assert len(emulator.requests()) == before  # no network


def test_denied_says_why_and_the_trace(env, make_emulator):
    emulator = make_emulator()
    emulator.preferences = PreferenceStore(outcome="denied", after=1)
    warm_with_requests(env, emulator, 1)
    done = run_cli(env, "requests", "--project", PROJECT)
    assert done.returncode == 0, done.stderr
    assert "H100 in us-central1: denied, asked 24" in done.stdout
    assert "Denied:" in done.stdout and "trace ID" in done.stdout


def test_json_for_scripts(env, make_emulator):
    emulator = make_emulator()
    warm_with_requests(env, emulator, 1)
    done = run_cli(env, "requests", "--json")
    [listed] = json.loads(done.stdout)
    assert listed["project"] == PROJECT and listed["state"] == "pending"
    assert listed["id"] == "console-h100-us-central1" and listed["age_s"] >= 0
    assert "example.com" not in done.stdout


def test_without_requests_or_cache(env, make_emulator):
    assert run_cli(env, "requests").returncode == 3
    emulator = make_emulator()
    done = run_cli(
        env, "run", "--once", "--project", "p", "--endpoint", emulator.url, "--interval", "0.02"
    )
    assert done.returncode == 0, done.stderr
    listed = run_cli(env, "requests")
    assert listed.returncode == 0 and "no quota increase requests" in listed.stdout
    assert run_cli(env, "requests", "--project", "other").returncode == 3
