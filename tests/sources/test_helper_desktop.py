"""The real tray after a full cycle: no Google module in its process, no process left behind.

`quota-tray demo` runs with the GTK tray on a private desktop (tests/app_child.py runs the
same command line in a process that can also list its own modules). The fetches go through
the fetcher process to the demo's emulator; once the cycle is complete and the grace has
passed, the tray process has imported nothing of the Google client stack and has no children.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

# Fixtures come from tests/desktop.py (tests/conftest.py imports them as well).
from desktop import Desktop, desktop, require_gtk, stop_process, wait_for  # noqa: F401

pytestmark = pytest.mark.desktop

ROOT = Path(__file__).resolve().parents[2]
REGIONS = ["us-central1", "us-east1"]
CONFIG = f"""
[gpu]
metrics = ["NVIDIA_L4_GPUS"]
regions = {json.dumps(REGIONS)}

[c3]
regions = {json.dumps(REGIONS)}
"""


def children(pid: int) -> list[int]:
    """The live processes whose parent is ``pid`` (zombies included: not yet reaped)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rpartition(")")[2].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def test_no_google_module_in_the_tray_process_after_a_full_cycle(
    desktop: Desktop,  # noqa: F811
    tmp_path: Path,
) -> None:
    require_gtk()
    config = tmp_path / "config.toml"
    config.write_text(CONFIG)
    reply = tmp_path / "reply.json"
    env = {k: v for k, v in desktop.env.items() if not k.startswith(("GOOGLE_", "CLOUDSDK_"))}
    env.update(
        NO_GCE_CHECK="true",
        PYSTRAY_BACKEND="gtk",
        CLOUDSDK_CONFIG=str(tmp_path / "gcloud"),
        QUOTA_TRAY_TEST_REPLY=str(reply),
    )
    argv = [sys.executable, str(ROOT / "tests" / "app_child.py"), "demo", "--speed", "20"]
    log = Path(env["XDG_STATE_HOME"]) / "quota-tray" / "log" / "demo" / "cache_warm.log"
    with (tmp_path / "app.err").open("wb") as err:
        proc = subprocess.Popen(
            [*argv, "--config", str(config)],
            cwd=ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=err,
            start_new_session=True,
        )
    try:

        def alive() -> bool:
            if proc.poll() is not None:
                raise AssertionError((tmp_path / "app.err").read_text()[-2000:])
            return True

        wait_for(lambda: alive() and desktop.docked_icons(), 30, "the icon to dock")
        wait_for(
            lambda: alive() and log.exists() and "CACHE_WARM_COMPLETE" in log.read_text(),
            60,
            "a complete cycle in the log",
        )
        assert proc.stdin is not None
        proc.stdin.write(b"modules\n")
        proc.stdin.flush()
        answer = wait_for(lambda: reply.exists() and json.loads(reply.read_text()), 10, "reply")
        assert answer["pid"] == proc.pid
        assert answer["google"] == [], answer["google"]
        # the fetcher (and multiprocessing's resource tracker) end a grace after the cycle
        wait_for(lambda: alive() and not children(proc.pid), 20, "no child process left")
        assert os.getpgid(proc.pid) == proc.pid
    finally:
        stop_process(proc)
