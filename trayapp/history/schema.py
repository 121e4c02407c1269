"""Where the history lives and what its tables hold: the one place the recorder that writes
rows and the queries that read them agree on. Standard library only."""

from __future__ import annotations

from pathlib import Path

FILENAME = "history.sqlite3"
SCHEMA_VERSION = 1
_COMMON = "at REAL NOT NULL, projects TEXT NOT NULL, cycle INTEGER NOT NULL, kind TEXT NOT NULL, \
done INTEGER, total INTEGER, api_calls INTEGER"
SCHEMA = f"""
CREATE TABLE IF NOT EXISTS batches ({_COMMON}, elapsed_ms INTEGER, level TEXT, failed INTEGER,
    error_kind TEXT);
CREATE INDEX IF NOT EXISTS batches_at ON batches(at);
CREATE TABLE IF NOT EXISTS cycles ({_COMMON}, duration_s REAL, failed INTEGER, reason TEXT,
    error_kind TEXT, message TEXT);
CREATE INDEX IF NOT EXISTS cycles_at ON cycles(at);
"""
COLUMNS = {"batches": 11, "cycles": 12}  # table -> number of columns


def default_path(demo: bool = False) -> Path:
    """``user_state_dir/history.sqlite3``; the demo keeps its own beside it."""
    from trayapp.paths import state_dir

    return state_dir() / ("demo" if demo else "") / FILENAME
