"""The README's examples work as printed."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from test_show import entry

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
    checks = [
        entry("us-west1", "NVIDIA_H100_GPUS", limit=16.0, usage=8.0),
        entry("us-east4", "NVIDIA_H100_GPUS", limit=16.0, usage=0.0),
        entry("us-central1", "NVIDIA_H100_GPUS", limit=8.0, usage=4.0),
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
        "  us-east4 16 free",
        "  us-west1 8 free",
    ]
