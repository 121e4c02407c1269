"""Cache documents with ``[[launch]]`` entries as the real warmer writes them: ``run --once``
through the real clients and fetcher against the emulator (project ``p-launch``, whose quotas
are in ``trayapp/emulator``), for the surfaces that read launches from the cache."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from userdirs import headless_env, run_cli

from trayapp import cache

PROJECT = "p-launch"
REGIONS = '["us-central1", "us-east1", "us-west1", "europe-west4"]'

# T4 free: 8 in us-central1, 0 elsewhere (see tests/cli/test_show_launch.py): two N1 VMs with
# four T4 each fit in us-central1 only; three of them fit nowhere
COMPUTE = f"""[gpu]
metrics = ["NVIDIA_T4_GPUS"]
regions = {REGIONS}
[c3]
regions = ["us-central1"]
[[launch]]
name = "t4box"
shape = "n1-standard-8+4xT4"
count = 2
[[launch]]
shape = "n1-standard-8+4xT4"
count = 3
"""
COMPUTE_LINES = [
    "t4box (n1-standard-8+4xT4 x2): fits in us-central1",
    "n1-standard-8+4xT4 x3: blocked everywhere: us-central1 by NVIDIA_T4_GPUS: 8 free, need 12; "
    "3 more regions blocked",
]
# Vertex AI Spot training: Cloud Quotas gives limits only, so the one region with enough
# (≤ 32 H100, ≤ 448 CPUs in us-central1) fits only on a limit
VERTEX = f"""[gpu]
service = "vertex"
spot = true
metrics = ["NVIDIA_H100_GPUS"]
regions = {REGIONS}
[c3]
regions = ["us-central1"]
[[launch]]
shape = "a3-highgpu-8g"
"""
VERTEX_LINES = ["a3-highgpu-8g x1: fits ≤ in us-central1 (if nothing else is running)"]
# the same cycles without a launch
PLAIN = COMPUTE.partition("[[launch]]")[0]


def warm(home: Path, emulator: Any, body: str) -> tuple[dict[str, str], Path]:
    """One real warm cycle of ``body`` (config.toml without projects); (env, cache file)."""
    env = headless_env(home)
    config = home.parent / f"{home.name}-config.toml"
    config.write_text(f'projects = ["{PROJECT}"]\ninterval_s = 0.02\n{body}')
    out = run_cli(env, "run", "--once", "--config", str(config), "--endpoint", emulator.url)
    assert out.returncode == 0, out.stdout + out.stderr
    return env, Path(env["XDG_CACHE_HOME"]) / "quota-tray" / cache.FILENAME


def warmed_doc(home: Path, emulator: Any, body: str) -> dict[str, Any]:
    """The cache document one real warm cycle of ``body`` wrote."""
    _, path = warm(home, emulator, body)
    return json.loads(path.read_text())
