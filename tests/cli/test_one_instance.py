"""One instance per user whatever the environment says and whatever is deleted, and a second
start that is not a failure (a service manager would restart it in a loop)."""

from __future__ import annotations

import configparser
import json
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


def without_runtime_dir(env):
    return {k: v for k, v in env.items() if k != "XDG_RUNTIME_DIR"}


@pytest.mark.parametrize("started_with_runtime_dir", [True, False], ids=["desktop", "ssh"])
def test_one_instance_is_found_from_every_shell_even_without_its_lock_file(
    env, emulator, started_with_runtime_dir
):
    """Started from a desktop session (XDG_RUNTIME_DIR set) or from ssh/cron (unset), the
    instance answers shells of both kinds, and no second one starts, lock file or not."""
    shells = {"desktop": env, "ssh": without_runtime_dir(env)}
    own = shells["desktop" if started_with_runtime_dir else "ssh"]
    proc = start_headless(own, emulator, "--project", "p", "--interval", "0.02")
    try:
        wait_status(own, lambda s: s["done"] == s["total"])
        for name, shell in shells.items():
            out = qt(shell, "status", "--json")
            assert out.returncode == 0, f"status from the {name} shell: {out.stderr}"
            assert json.loads(out.stdout)["pid"] == proc.pid
        assert qt(shells["ssh"], "pause").returncode == 0
        wait_status(shells["desktop"], lambda s: s["paused"])
        cache_before = cache_file(env).read_bytes()
        log_before = log_file(env).read_bytes()

        lock = Path(env["XDG_STATE_HOME"]) / "quota-tray" / "instance.lock"
        assert lock.read_text().split()[0] == str(proc.pid)
        for name, shell in shells.items():
            out = second_start(shell, emulator)
            assert out.returncode == 0, f"second start from the {name} shell: {out.stderr}"
            assert f"already running (pid {proc.pid})" in out.stderr
            lock.unlink(missing_ok=True)  # someone cleans up: the next start has no lock file
            out = second_start(shell, emulator)
            assert out.returncode == 0, f"start without a lock file, {name} shell: {out.stderr}"
            assert f"already running (pid {proc.pid})" in out.stderr

        assert cache_file(env).read_bytes() == cache_before
        assert log_file(env).read_bytes() == log_before
        assert proc.poll() is None
        assert qt(shells["ssh"], "quit").returncode == 0
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
