"""An environment whose every user directory lies under one temporary home.

Processes started with it never touch the developer's real cache, log, config, instance lock
or Google credentials, and google-auth never probes the metadata server.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path


def isolated_env(home: Path, **extra: str) -> dict[str, str]:
    (home / "run").mkdir(mode=0o700, parents=True, exist_ok=True)  # a real runtime folder
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GOOGLE_", "CLOUDSDK_"))}
    env.update(
        HOME=str(home),
        XDG_CACHE_HOME=str(home / "cache"),
        XDG_CONFIG_HOME=str(home / "config"),
        XDG_STATE_HOME=str(home / "state"),
        XDG_RUNTIME_DIR=str(home / "run"),  # the instance lock and the control socket
        CLOUDSDK_CONFIG=str(home / "gcloud"),
        NO_GCE_CHECK="true",
        **extra,
    )
    return env


def headless_env(home: Path) -> dict[str, str]:
    """``isolated_env`` without a display: the app takes its terminal path, output unbuffered."""
    env = isolated_env(home, PYTHONUNBUFFERED="1")
    env.pop("DISPLAY", None)
    env.pop("WAYLAND_DISPLAY", None)
    return env


def run_cli(env: dict[str, str], *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    """``python -m trayapp ARGS`` in ``env``, as a user runs it; output captured as text."""
    return subprocess.run(
        [sys.executable, "-m", "trayapp", *args],
        env=env,
        timeout=timeout,
        check=False,
        capture_output=True,
        text=True,
    )


def start_demo(env: dict[str, str], timeout: float = 30) -> subprocess.Popen:
    """A headless demo in ``env``, returned once it answers ``status --demo``."""
    demo = subprocess.Popen(
        [sys.executable, "-m", "trayapp", "demo", "--headless", "--speed", "20"],
        env=env,
        stdout=subprocess.DEVNULL,  # nobody reads it: a full pipe would stall the demo
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + timeout
    while run_cli(env, "status", "--demo").returncode != 0:
        if demo.poll() is not None or time.monotonic() > deadline:
            demo.kill()
            raise AssertionError(f"the demo never answered status --demo: {demo.communicate()}")
        time.sleep(0.05)
    return demo


def wait_until(condition, what: str, timeout: float = 30.0, proc=None):
    """Poll ``condition`` until it returns something truthy (and return that), failing with
    ``what`` at the deadline, or at once when ``proc`` (the app under test) has ended."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"the app ended before {what}: {proc.communicate()}")
        if time.monotonic() >= deadline:
            raise AssertionError(f"{what}: not within {timeout:g} s")
        time.sleep(0.05)
