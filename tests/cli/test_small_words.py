"""Small words: what the command line, the log and the README say is so."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from userdirs import headless_env, run_cli

from trayapp.logsink import format_event
from trayapp.warming.events import Event, Progress, WarmEvent

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_help_says_a_bare_start_runs_run(tmp_path):
    out = run_cli(headless_env(tmp_path), "--help")
    assert out.returncode == 0
    assert out.stdout.endswith(
        "With no command, quota-tray runs `run`:\n"
        "  quota-tray --project P    is    quota-tray run --project P\n"
    )


def test_one_tick_is_one_tick():
    def skip(n):
        return Event(WarmEvent.SKIP, 1, Progress(0, 20, 0, 18), data={"skipped": n, "reason": "r"})

    assert format_event(skip(1)) == "⏭️ CACHE_WARM_SKIP: 1 tick skipped (r)"
    assert format_event(skip(3)) == "⏭️ CACHE_WARM_SKIP: 3 ticks skipped (r)"


def test_stats_numbers_cycles_so_runs_can_be_told_apart(tmp_path, make_emulator):
    env = headless_env(tmp_path / "home")
    emulator = make_emulator()
    for _ in range(2):  # two runs: each counts its own cycles from 1
        out = run_cli(
            env, "run", "--once", "--project", "p", "--endpoint", emulator.url, "--interval", "0.02"
        )
        assert out.returncode == 0, out.stderr
    stats = run_cli(env, "stats")
    assert stats.returncode == 0, stats.stderr
    assert re.findall(r"#(\d+) done", stats.stdout) == ["1", "2"], stats.stdout


def test_every_install_hint_names_an_extra_of_this_checkout():
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]
    from trayapp.tui.launch import TUI_MISSING

    for text in (README, TUI_MISSING, (ROOT / "packaging" / "README.md").read_text()):
        assert "quota-tray[" not in text  # no such package is published
        for extra in re.findall(r"install (?:--force )?'\.\[(\w+)\]'", text):
            assert extra in extras


def test_the_readme_says_quota_and_names_every_config_key():
    assert "right now?" not in README and "quota, not\ncapacity" in README
    assert "--zone" not in README
    keys = README[README.index("Config keys (all optional)") :][:400]
    for key in ("projects", "interval_s", "rewarm_s", "timeout_s", "endpoint", "quotas_endpoint"):
        assert f"`{key}`" in keys
