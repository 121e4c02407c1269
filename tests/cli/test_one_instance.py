"""One instance per user whatever the environment says and whatever is deleted, and a second
start that is not a failure (a service manager would restart it in a loop)."""

from __future__ import annotations

import configparser
from pathlib import Path

import pytest
from emulator_fixtures import *  # noqa: F403
from test_cli import cache_file, log_file, qt, start_headless, wait_status
from userdirs import headless_env

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def env(tmp_path):
    return headless_env(tmp_path / "home")


def second_start(env, emulator):
    return qt(env, "run", "--headless", "--project", "p", "--endpoint", emulator.url, timeout=60)


def test_with_and_without_xdg_runtime_dir_or_a_deleted_lock_one_instance_runs(env, emulator):
    proc = start_headless(env, emulator, "--project", "p", "--interval", "0.02")
    try:
        wait_status(env, lambda s: s["done"] == s["total"])
        assert qt(env, "pause").returncode == 0
        wait_status(env, lambda s: s["paused"])
        cache_before = cache_file(env).read_bytes()
        log_before = log_file(env).read_bytes()

        without = {k: v for k, v in env.items() if k != "XDG_RUNTIME_DIR"}
        out = second_start(without, emulator)
        assert out.returncode == 0, out.stderr
        assert f"already running (pid {proc.pid})" in out.stderr

        lock = Path(env["XDG_STATE_HOME"]) / "quota-tray" / "instance.lock"
        assert lock.read_text().split()[0] == str(proc.pid)
        lock.unlink()
        out = second_start(env, emulator)
        assert out.returncode == 0, out.stderr
        assert f"already running (pid {proc.pid})" in out.stderr

        assert cache_file(env).read_bytes() == cache_before
        assert log_file(env).read_bytes() == log_before
        assert proc.poll() is None
        assert qt(env, "quit").returncode == 0
        proc.wait(10)
    finally:
        proc.kill()
        proc.communicate()


def test_the_service_unit_does_not_restart_a_second_start():
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.read(ROOT / "packaging" / "quota-tray.service")
    service = unit["Service"]
    # a second start exits 0 ("already running"): with on-failure it is not restarted
    assert service["Restart"] == "on-failure"
    assert "0" not in service.get("RestartPreventExitStatus", "").split()
