"""The README's examples work as printed."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from test_show import entry
from userdirs import headless_env, run_cli

from trayapp import cache
from trayapp.safety.files import private_dir

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def python_block_after(marker: str) -> str:
    start = README.index(marker)
    found = re.search(r"```python\n(.*?)```", README[start:], re.S)
    assert found, f"no python block after {marker!r}"
    return found.group(1)


def test_the_reader_snippet_runs_as_printed_with_the_standard_library_only(tmp_path):
    home = tmp_path / "home"
    path = home / ".cache" / "quota-tray" / cache.FILENAME
    private_dir(path.parent)
    # as the warmer writes them: on-demand H100 comes from the family quota (usage unknown),
    # A100 from regions.get (usage known)
    family = {"source": "cloudquotas", "usage": None}
    checks = [
        {**entry("us-west1", "NVIDIA_H100_GPUS", limit=16.0), **family},
        {**entry("us-east4", "NVIDIA_H100_GPUS", limit=24.0), **family},
        {**entry("us-central1", "NVIDIA_H100_GPUS", limit=4.0), **family},
        {**entry("us-central1", "NVIDIA_A100_GPUS", limit=16.0, usage=8.0), "source": "compute"},
    ]
    cache.write_atomic(
        path,
        {
            "schema_version": 1,
            "written_at": cache.now_iso(),
            "warmer": {"pid": 1, "level": "complete", "last_batch_ms": 1, "paused": False},
            "projects": {
                "my-project": {
                    "cycle": {
                        "id": 1,
                        "started_at": cache.now_iso(),
                        "completed_at": cache.now_iso(),
                        "done": 3,
                        "total": 3,
                    },
                    "checks": checks,
                }
            },
        },
    )
    snippet = python_block_after("A reader in Python needs")
    env = {"HOME": str(home), "PYTHONPATH": str(ROOT), "PATH": os.environ.get("PATH", "")}
    # -S: no site-packages, so only the standard library and the checkout can be imported
    done = subprocess.run(
        [sys.executable, "-S", "-c", snippet],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "my-project complete",
        "  us-east4 ≤ 24 free",
        "  us-west1 ≤ 16 free",
    ]


def console_block_after(marker: str) -> list[str]:
    start = README.index(marker)
    found = re.search(r"```console\n(.*?)```", README[start:], re.S)
    assert found, f"no console block after {marker!r}"
    return found.group(1).splitlines()


def test_the_answer_at_a_glance_is_what_show_prints_after_a_demo_cycle(tmp_path):
    """The README's first example is the product's own output, not a made-up table: a demo
    cycle against the built-in emulator, then the command as printed."""
    block = console_block_after("## The answer at a glance")
    command, expected = block[0], block[1:]
    assert command.startswith("$ quota-tray show --demo ")
    env = headless_env(tmp_path / "home")
    done = run_cli(env, "demo", "--once", "--headless", "--speed", "20", timeout=180)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    shown = run_cli(env, *command.split()[2:])
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.splitlines() == expected


def test_can_i_launch_is_what_show_prints_after_the_demo_it_names(tmp_path):
    """The "Can I launch?" example: the demo it names, then the command as printed (the
    block ends with ``...`` where the README cuts the second project's rows)."""
    start = README.index("## Can I launch?")
    demo = re.search(r"After `quota-tray (demo[^`]*)`", README[start:].replace("\n", " "))
    assert demo, "the section names the demo it ran"
    block = console_block_after("## Can I launch?")
    command, expected = block[0], block[1:]
    assert command.startswith("$ quota-tray show --demo --launch ") and expected[-1] == "..."
    env = headless_env(tmp_path / "home")
    args = demo.group(1).split()
    done = run_cli(env, *args, "--once", "--headless", "--speed", "20", timeout=180)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    shown = run_cli(env, *command.split()[2:])
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.splitlines()[: len(expected) - 1] == expected[:-1]
