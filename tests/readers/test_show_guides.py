"""Filters guide: a --metric or --region that matches nothing says which name is unknown and
the closest one, or that it is not warmed and how to add it. Read from the demo's real cache."""

from __future__ import annotations

from pathlib import Path

import pytest
from userdirs import headless_env, run_cli


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    env = headless_env(tmp_path_factory.mktemp("home"))
    out = run_cli(env, "demo", "--once", "--speed", "50")
    assert out.returncode == 0, out.stderr
    return env


@pytest.mark.parametrize(
    ("args", "line", "code"),
    [
        (
            ["--metric", "NVIDIA_H100_GPU"],
            "--metric: unknown metric 'NVIDIA_H100_GPU'; did you mean NVIDIA_H100_GPUS?",
            2,
        ),
        (["--metric", "H1OO"], "--metric: unknown metric 'H1OO'; did you mean H100?", 2),
        (
            ["--metric", "B200"],
            "--metric: B200 is not warmed: add NVIDIA_B200_GPUS to [gpu] metrics",
            1,
        ),
        (["--region", "us-eas1"], "--region: unknown region 'us-eas1'; did you mean us-east1?", 2),
        (
            ["--region", "asia-east1"],
            "--region: asia-east1 is not warmed: add it to [gpu] regions or [c3] regions",
            1,
        ),
        (
            ["--metric", "H100", "--min-free", "1e6"],
            "no check matches --metric H100 --min-free 1e+06",
            1,
        ),
    ],
)
def test_a_filter_that_matches_nothing_says_why(env, args, line, code):
    out = run_cli(env, "show", "--demo", *args)
    assert (out.returncode, out.stderr, out.stdout) == (code, f"quota-tray: {line}\n", "")


def test_a_name_not_warmed_beside_one_that_is_still_prints_the_rows(env):
    out = run_cli(env, "show", "--demo", "--metric", "H100", "--metric", "B200")
    assert out.returncode == 0
    assert out.stderr == (
        "quota-tray: --metric: B200 is not warmed: add NVIDIA_B200_GPUS to [gpu] metrics\n"
    )
    assert " H100 " in out.stdout


def test_the_readme_example_works_right_after_the_demo(env):
    """No cache of one's own yet: `show` and `stats` read the demo's, saying so in one line."""
    out = run_cli(env, "show", "--metric", "H100", "--min-free", "8")
    assert out.returncode == 0, out.stderr
    assert out.stderr == (
        "quota-tray: no cache of your own yet: showing the demo's "
        "(warm your own with: quota-tray --project ID)\n"
    )
    assert out.stdout.startswith("demo-project: complete · ")
    stats = run_cli(env, "stats")
    assert stats.returncode == 0, stats.stderr
    assert stats.stderr == (
        "quota-tray: no history of your own yet: showing the demo's "
        "(warm your own with: quota-tray --project ID)\n"
    )
    assert stats.stdout.startswith("History, last 24h (demo-project)"), stats.stdout


def test_a_project_not_in_the_cache_names_the_closest(env):
    out = run_cli(env, "show", "--demo", "--project", "demo-projet")
    path = Path(env["XDG_CACHE_HOME"]) / "quota-tray" / "demo" / "quota-cache.json"
    assert (out.returncode, out.stderr) == (
        3,
        f"quota-tray: project 'demo-projet' is not in {path}; did you mean demo-project?\n",
    )
