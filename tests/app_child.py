"""`quota-tray ARGS` run in this process, answering questions only the process can answer.

The app runs as it does for a user (the real command line, tray and all); a thread reads
commands from stdin, one per line, and writes each answer as JSON to the file named by
``QUOTA_TRAY_TEST_REPLY`` (replaced atomically):

    modules   # {"pid": ..., "google": [the google.* and grpc modules imported here]}
"""

from __future__ import annotations

import json
import multiprocessing
import os
import sys
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

HEAVY = ("google", "grpc", "proto", "requests")


def heavy_modules() -> list[str]:
    """Modules of the Google client stack imported in this process."""
    return sorted(m for m in list(sys.modules) if m.split(".")[0] in HEAVY)


def answer(reply: Path) -> None:
    for line in sys.stdin:
        if line.strip() == "modules":
            tmp = reply.with_suffix(".tmp")
            tmp.write_text(json.dumps({"pid": os.getpid(), "google": heavy_modules()}))
            tmp.replace(reply)


if __name__ == "__main__":
    multiprocessing.freeze_support()
    threading.Thread(
        target=answer, args=(Path(os.environ["QUOTA_TRAY_TEST_REPLY"]),), daemon=True
    ).start()
    from trayapp.cli import main

    raise SystemExit(main(sys.argv[1:]))
