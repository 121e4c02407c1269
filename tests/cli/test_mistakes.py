"""A mistake names the fix: one line, the closest valid name or what to add, exit 2; the same
wording for a name in config.toml, on the command line and in a watch rule."""

from __future__ import annotations

import pytest
from userdirs import headless_env, run_cli


@pytest.fixture
def env(tmp_path):
    return headless_env(tmp_path / "home")


@pytest.mark.parametrize(
    ("text", "line"),
    [
        (
            '[c3]\nmetric = "C3_CPU"',
            "c3.metric: unknown CPU quota metric 'C3_CPU'; did you mean C3_CPUS?",
        ),
        (
            '[c3]\nmetric = "BANANA"',
            "c3.metric: unknown CPU quota metric 'BANANA' "
            "(a Compute CPU quota metric such as C3_CPUS)",
        ),
        (
            'projects = ["my project"]',
            "projects: 'my project' is not a project ID (lower-case letters, digits and hyphens, "
            "starting with a letter, at most 30); did you mean my-project?",
        ),
        (
            '[gpu]\nregions = ["us-eastt1"]',
            "gpu.regions: unknown region 'us-eastt1'; did you mean us-east1?",
        ),
        (
            '[c3]\nregions = ["europe-wst4"]',
            "c3.regions: unknown region 'europe-wst4'; did you mean europe-west4?",
        ),
        ("intreval_s = 2", "unknown key 'intreval_s'; did you mean interval_s?"),
        ("spot = true", "unknown key 'spot'; did you mean gpu.spot (spot under [gpu])?"),
        ('[gpu]\nmetric = ["T4"]', "unknown key 'gpu.metric'; did you mean gpu.metrics?"),
        (
            '[[watch]]\nmetric = "B200"\nmin_free = 8',
            "watch #1: B200 is not warmed: add NVIDIA_B200_GPUS to [gpu] metrics",
        ),
        (
            '[[watch]]\nmetric = "H1OO"\nmin_free = 8',
            "watch #1: unknown metric 'H1OO'; did you mean H100?",
        ),
        (
            '[[watch]]\nmetric = "H100"\nmin_free = 8\nregions = ["asia-east1"]',
            "watch #1: region asia-east1 is not warmed for H100: add it to [gpu] regions",
        ),
        (
            '[[watch]]\nmetric = "H100"\nmin_fre = 8',
            "watch #1: unknown key 'min_fre'; did you mean min_free?",
        ),
        (
            'endpoint = "http://127.0.0.1:9/compute/v1"',
            "endpoint takes the base URL without a path: http://127.0.0.1:9, "
            "not 'http://127.0.0.1:9/compute/v1'",
        ),
    ],
)
def test_a_config_mistake_is_one_line_naming_the_fix(env, tmp_path, text, line):
    config = tmp_path / "config.toml"
    config.write_text(f'projects = ["p"]\n{text}\n' if "projects" not in text else text + "\n")
    out = run_cli(env, "run", "--headless", "--once", "--config", str(config))
    assert (out.returncode, out.stderr) == (2, f"quota-tray: config {config}: {line}\n")


def test_short_and_any_case_names_are_taken_everywhere(env, tmp_path, make_emulator):
    """``H100`` in [gpu] metrics, as --metric and [[watch]] take it; regions in any case."""
    emulator = make_emulator()
    config = tmp_path / "config.toml"
    config.write_text(
        'projects = ["p"]\ninterval_s = 0.02\n[gpu]\nmetrics = ["H100", "t4"]\n'
        'regions = ["US-EAST1"]\n[c3]\nmetric = "C3"\nregions = ["us-east1"]\n'
        '[[watch]]\nmetric = "h100"\nmin_free = 1\nregions = ["us-east1"]\n'
    )
    out = run_cli(env, "run", "--once", "--config", str(config), "--endpoint", emulator.url)
    assert out.returncode == 0, out.stderr
    shown = run_cli(env, "show").stdout.splitlines()
    assert [line.split()[:2] for line in shown[2:]] == [
        ["us-east1", "H100"],
        ["us-east1", "T4"],
        ["us-east1", "C3"],
    ]


def test_a_project_flag_that_is_no_project_id_is_refused(env):
    out = run_cli(env, "run", "--headless", "--once", "--project", "my project")
    assert (out.returncode, out.stderr) == (
        2,
        "quota-tray: --project: 'my project' is not a project ID (lower-case letters, digits "
        "and hyphens, starting with a letter, at most 30); did you mean my-project?\n",
    )


def test_an_endpoint_with_a_path_is_refused_on_the_command_line(env):
    out = run_cli(
        env,
        "run",
        "--headless",
        "--once",
        "--project",
        "p",
        "--endpoint",
        "http://127.0.0.1:9/compute/v1/",
    )
    assert (out.returncode, out.stderr) == (
        2,
        "quota-tray: --endpoint takes the base URL without a path: http://127.0.0.1:9, "
        "not 'http://127.0.0.1:9/compute/v1/'\n",
    )
