"""The app's tray (the real Runtime and ``run_tray``) against the emulator, with the files it
is given and troubles told after ``persist_s`` seconds instead of a minute.

    python tests/trouble_app_child.py URL HOME PERSIST_S
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from trayapp.app import Files, Runtime, run_tray
from trayapp.config import Settings
from trayapp.sources.recipe import SourceRecipe

if __name__ == "__main__":
    url, home, persist_s = sys.argv[1], Path(sys.argv[2]), float(sys.argv[3])
    settings = Settings(
        projects=("p",),
        interval_s=0.05,
        endpoint=url,
        quotas_endpoint=url,
        gpu_metrics=("NVIDIA_T4_GPUS",),
        gpu_regions=("us-central1",),
        c3_regions=("us-east1",),
    )
    files = Files(
        cache=home / "cache" / "quota-cache.json",
        log=home / "log" / "cache_warm.log",
        history=home / "state" / "history.sqlite3",
    )
    source = SourceRecipe(url, timeout_s=5.0, quotas_endpoint=url).build()
    runtime = Runtime(settings, source, files)
    runtime.troubles.persist_s = persist_s
    raise SystemExit(run_tray(runtime))
