"""The history file itself: opened safely, checked before anything in it is changed, and what
an SQLite error says about it (busy, corrupt, the disk, or something else). Standard library
only.
"""

from __future__ import annotations

import os
import sqlite3

from trayapp.cache import set_aside
from trayapp.history.schema import SCHEMA, SCHEMA_VERSION
from trayapp.safety.files import drop_link, open_private, private_dir, same_file

SIDE_FILES = ("-wal", "-shm", "-journal")  # SQLite creates these beside the database
_BUSY = ("SQLITE_BUSY", "SQLITE_LOCKED")
_CORRUPT = ("SQLITE_CORRUPT", "SQLITE_NOTADB")
# Errors that a fresh file cannot fix: the disk, not the database, is the problem.
_ENVIRONMENT = ("SQLITE_FULL", "SQLITE_IOERR", "SQLITE_READONLY", "SQLITE_CANTOPEN", "SQLITE_PERM")


class Corrupt(sqlite3.DatabaseError):
    """The file opens but fails SQLite's integrity check."""


class Foreign(sqlite3.DatabaseError):
    """Healthy but not ours to change: another schema version (a newer quota-tray?)."""


class Replaced(sqlite3.DatabaseError):
    """The file was swapped (for a link?) between our checks and SQLite's open."""


def kind_of(exc: BaseException) -> str:
    """``busy`` (another program holds a lock: wait), ``corrupt`` (SQLite says so: set it
    aside), ``stuck`` (the disk or a file not ours: stop recording), or ``other``."""
    name = getattr(exc, "sqlite_errorname", "") or ""
    if name.startswith(_BUSY):
        return "busy"
    if isinstance(exc, Corrupt) or name.startswith(_CORRUPT):
        return "corrupt"
    if isinstance(exc, OSError | Foreign) or name.startswith(_ENVIRONMENT):
        return "stuck"
    return "other"


def open_database(path: str, busy_timeout_s: float) -> sqlite3.Connection:
    """Our 0600 file (never a planted link's target), checked, in WAL mode, with our tables."""
    private_dir(os.path.dirname(os.path.abspath(path)))  # noqa: PTH100, PTH120
    fd = open_private(path, os.O_RDWR)
    for suffix in SIDE_FILES:
        drop_link(path + suffix)
    try:
        conn = sqlite3.connect(
            path, timeout=busy_timeout_s, isolation_level=None, check_same_thread=False
        )
        if not same_file(fd, path):  # swapped for a link between our checks
            conn.close()
            raise Replaced("the history file was replaced while opening it")
    finally:
        os.close(fd)
    try:
        check = conn.execute("PRAGMA quick_check").fetchone()[0]
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if check != "ok":
            raise Corrupt(f"integrity check: {check}")
        if version not in (0, SCHEMA_VERSION):  # checked before anything is changed
            raise Foreign(f"schema version {version}, not {SCHEMA_VERSION}")
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.executescript(SCHEMA)
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
    except BaseException:
        conn.close()
        raise
    return conn


def set_aside_with_side_files(path: str) -> str:
    """Rename the database with its WAL files, so the kept copy still opens as it was."""
    moved = set_aside(path)
    for suffix in SIDE_FILES:
        if os.path.lexists(path + suffix):
            os.replace(path + suffix, moved + suffix)
    return moved
