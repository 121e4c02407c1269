"""Small words from a new user's first hour, as they run the commands: a terminal view with no
terminal, output after `--once` said it finished, one failure said three times, a fix cut in
the middle of its command, flags named as typed, and numbers as people write them."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from userdirs import headless_env, run_cli, start_demo

LONG_PROJECT = "a-very-long-project-id-123456"  # 29 characters: a valid ID
DESIGN = ("--gpu-service", "vertex", "--c3-service", "cloudbuild")


@pytest.fixture
def env(tmp_path):
    return headless_env(tmp_path / "home")


def warm_once(env, url, *flags, project="p"):
    return run_cli(
        env, "run", "--once", "--project", project, "--endpoint", url, "--interval", "0.02", *flags
    )


def log_lines(env):
    log = Path(env["XDG_STATE_HOME"]) / "quota-tray" / "log" / "cache_warm.log"
    return [line.split(" ", 1)[1] for line in log.read_text().splitlines()]


def test_the_terminal_view_without_a_terminal_refuses_in_one_line(env):
    pytest.importorskip("textual")
    out = run_cli(env, "tui", timeout=60)  # output to a pipe: no terminal to draw on
    assert (out.returncode, out.stdout) == (2, "")
    assert out.stderr == (
        "quota-tray: the terminal view needs a terminal (its input or output is not one): "
        "use quota-tray show, or show --json for a program\n"
    )


@pytest.mark.parametrize("faults", [[], ["503@us-east1"]])
def test_nothing_is_printed_after_once_said_it_finished(env, make_emulator, faults):
    out = warm_once(env, make_emulator(faults=faults).url)
    assert out.returncode == (1 if faults else 0), out.stderr
    last = out.stdout.splitlines()[-1]
    assert "run --once finished" in last, out.stdout
    assert any("FINAL_STATS" in line for line in log_lines(env))  # the log still has it


def test_one_failure_is_said_once_a_cycle_then_counted(env, make_emulator):
    out = warm_once(env, make_emulator(faults=["503@us-east1"]).url)  # three attempts fail
    assert out.returncode == 1
    cause = "The service is currently unavailable."
    for lines in (out.stdout.splitlines(), log_lines(env)):
        fails = [line for line in lines if "BATCH_FAIL" in line]
        assert len(fails) == 2, fails
        said = f"p/us-east1: service unavailable (HTTP 503 backendError): {cause}"
        assert fails[0].endswith(said)
        assert fails[1] == (
            "❌ BATCH_FAIL: 2 more batches failed the same way "
            f"(unavailable: service unavailable (HTTP 503 backendError): {cause})"
        )


def test_a_fix_is_never_cut_inside_its_command(env, make_emulator):
    emulator = make_emulator(faults=["403:SERVICE_DISABLED@cloudbuild"])
    out = warm_once(env, emulator.url, *DESIGN, project=LONG_PROJECT)
    assert out.returncode == 1, out.stderr
    command = f'"gcloud services enable cloudquotas.googleapis.com --project {LONG_PROJECT}"'
    shown = run_cli(env, "show")  # a table whose error cells are narrower than the fix
    assert shown.returncode == 0, shown.stderr
    rows = [r for r in shown.stdout.splitlines() if "error: the Cloud Quotas API is disabled" in r]
    assert rows and all(command in row for row in rows), rows  # not "--project a-very…"
    nothing = run_cli(env, "show", "--metric", "C3")  # every C3 check unknown: one line, exit 3
    assert nothing.returncode == 3 and nothing.stderr.count("\n") == 1
    assert command in nothing.stderr, nothing.stderr


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (
            ("run", "--once", "--project", "p", "--interval", "5000"),
            "--interval must be at most 3600, not 5000",
        ),
        (("run", "--intervall", "2"), "unknown option '--intervall'; did you mean --interval?"),
        (("show", "--plot", "x.png"), "unknown option '--plot' (an option of quota-tray stats)"),
        (
            ("stats", "--since", "-1h"),
            "--since cannot be negative ('-1h'): it reaches back from now, like 24h",
        ),
        (
            ("stats", "--since", "-5"),
            "--since cannot be negative ('-5'): it reaches back from now, like 24h",
        ),
        (
            ("stats", "--plot", "chart.svg"),
            "--plot draws a PNG: name the file FILE.png, not 'chart.svg'",
        ),
        (
            ("run", "--once", "--project", "p", "--rewarm", "30"),
            "--rewarm 30 (rewarm_s) is below a minute: against https://compute.googleapis.com "
            "re-warm every 60 s or more (shorter periods are for the emulator)",
        ),
        (
            ("run", "--once", "--project", "p", *DESIGN, "--rewarm", "0.5"),
            "--rewarm 0.5 (rewarm_s) is below a minute: against "
            "https://cloudquotas.googleapis.com re-warm every 60 s or more "
            "(shorter periods are for the emulator)",
        ),
    ],
)
def test_a_flag_mistake_is_one_line_naming_the_flag(env, args, line):
    out = run_cli(env, *args, timeout=60)
    assert (out.returncode, out.stderr) == (2, f"quota-tray: {line}\n")
    assert not list(Path(env["HOME"]).rglob("*.png")) and not list(Path.cwd().glob("chart.svg"))


def test_a_short_rewarm_is_fine_against_the_emulator(env, make_emulator):
    out = warm_once(env, make_emulator().url, "--rewarm", "0.5")
    assert out.returncode == 0, out.stderr


def test_nothing_free_reads_0_not_at_most_0(env, make_emulator):
    assert warm_once(env, make_emulator().url, *DESIGN).returncode == 0
    out = run_cli(env, "show", "--metric", "A100", "--region", "us-east1")
    row = out.stdout.splitlines()[-1].split()
    assert row[:3] == ["us-east1", "A100", "0"] and row[4] == "0", out.stdout  # limit 0: none
    assert "≤ 0" not in out.stdout


def test_json_numbers_that_are_whole_are_integers(env, make_emulator):
    assert warm_once(env, make_emulator().url).returncode == 0
    shown = run_cli(env, "show", "--json")
    assert shown.returncode == 0, shown.stderr
    assert not re.search(r"\d\.0\b", shown.stdout), shown.stdout[:2000]
    t4 = next(
        c
        for c in json.loads(shown.stdout)["projects"]["p"]["checks"]
        if (c["region"], c["metric"]) == ("us-central1", "NVIDIA_T4_GPUS")
    )
    assert type(t4["limit"]) is int
    demo = start_demo(env)
    try:
        status = run_cli(env, "status", "--demo", "--json")
        assert status.returncode == 0, status.stderr
        assert not re.search(r"\d\.0\b", status.stdout), status.stdout
        assert json.loads(status.stdout)["pid"] == demo.pid
    finally:
        run_cli(env, "quit", "--demo")
        demo.wait(15)
