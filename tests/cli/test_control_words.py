"""Control that says what it did: `pause` twice, `rewarm` while paused, `status --json` with
nothing running, a start hint that works as printed, a second start for another project."""

from __future__ import annotations

from pathlib import Path

import pytest
from emulator_fixtures import *  # noqa: F403
from test_cli import qt, start_headless, wait_status
from userdirs import headless_env


@pytest.fixture
def env(tmp_path):
    return headless_env(tmp_path / "home")


def said(out) -> tuple[int, str, str]:
    return out.returncode, out.stdout, out.stderr


def test_each_command_says_what_it_did(env, emulator):
    proc = start_headless(env, emulator, "--project", "p", "--interval", "0.05")
    who = f"(pid {proc.pid}, p)"
    try:
        wait_status(env, lambda s: s["done"] == s["total"])
        assert said(qt(env, "pause")) == (0, f"quota-tray: warming paused {who}\n", "")
        assert said(qt(env, "pause")) == (0, f"quota-tray: already paused {who}\n", "")
        assert said(qt(env, "rewarm")) == (
            0,
            f"quota-tray: re-warm started; warming resumed {who}\n",
            "",
        )
        assert said(qt(env, "resume")) == (0, f"quota-tray: already warming {who}\n", "")
        other = qt(env, "run", "--headless", "--project", "other", "--endpoint", emulator.url)
        assert said(other) == (
            0,
            "",
            f"quota-tray is already running (pid {proc.pid}) and warms p, not other: "
            "`quota-tray quit`, then `quota-tray --project p --project other`\n",
        )
        assert qt(env, "quit").returncode == 0
        proc.wait(10)
    finally:
        proc.kill()
        proc.communicate()


def test_nothing_running_says_so_as_json_and_with_a_start_that_works(env):
    assert said(qt(env, "status", "--json")) == (3, '{"running": false}\n', "")
    assert said(qt(env, "status")) == (
        3,
        "",
        "quota-tray: no running instance (start it with `quota-tray --project ID`, "
        "ID being your Google Cloud project)\n",
    )
    config = Path(env["XDG_CONFIG_HOME"]) / "quota-tray" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text('projects = ["p"]\n')
    assert said(qt(env, "pause")) == (
        3,
        "",
        "quota-tray: no running instance (start it with `quota-tray`)\n",
    )
