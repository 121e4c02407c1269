"""An environment whose every user directory lies under one temporary home.

Processes started with it never touch the developer's real cache, log, config, instance lock
or Google credentials, and google-auth never probes the metadata server.
"""

from __future__ import annotations

import os
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
