"""The observer that records every batch and cycle, so the history has rows to query.

Recording never slows the warmer: ``on_event`` only puts a row on a bounded queue and a writer
thread of its own does the SQL. A locked or corrupt database is set aside (renamed with a
``.bad-<time>`` suffix) with one log line and replaced by a fresh one; when even that fails the
app keeps warming without a history. Standard library only.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from trayapp.cache import set_aside
from trayapp.history.schema import COLUMNS, SCHEMA, SCHEMA_VERSION
from trayapp.safety.files import drop_link, open_private, private_dir, same_file
from trayapp.warming.events import Event, WarmEvent

log = logging.getLogger("trayapp.history")  # log lines name the history, not its module

_BATCH = {WarmEvent.BATCH_WARM, WarmEvent.BATCH_SLOW, WarmEvent.BATCH_FAIL}
_CYCLE = {
    WarmEvent.COMPLETE,
    WarmEvent.INCOMPLETE,
    WarmEvent.REWARM,
    WarmEvent.RETRY,
    WarmEvent.ERROR,
}
# Errors that a fresh file cannot fix: the disk, not the database, is the problem.
_ENVIRONMENT = ("SQLITE_FULL", "SQLITE_IOERR", "SQLITE_READONLY", "SQLITE_CANTOPEN", "SQLITE_PERM")


_SIDE_FILES = ("-wal", "-shm", "-journal")  # SQLite creates these beside the database


class _Unusable(sqlite3.DatabaseError):
    """The file opens but fails its integrity check or has another schema."""


class HistoryRecorder:
    """Observer writing batches and cycles to SQLite from a thread of its own."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        project_label: str,
        retention_days: float = 30,
        *,
        queue_size: int = 10_000,
        busy_timeout_s: float = 5.0,
        prune_every: int = 1000,
        prune_interval_s: float = 3600.0,
    ) -> None:
        self.path = os.fspath(path)
        self.project_label = project_label
        self.retention_s = retention_days * 86400.0
        self.busy_timeout_s = busy_timeout_s
        self.prune_every, self.prune_interval_s = prune_every, prune_interval_s
        self.recording = True  # False once the database could not be used nor replaced
        self.dropped = 0
        self.written = 0
        self.set_aside: list[str] = []
        self._queue: queue.Queue[tuple[str, tuple[Any, ...]]] = queue.Queue(queue_size)
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._conn: sqlite3.Connection | None = None
        self._since_prune, self._pruned_at = 0, 0.0

    # -- warmer side: never blocks ----------------------------------------------------------
    def on_event(self, event: Event) -> None:
        if event.kind not in _BATCH and event.kind not in _CYCLE:
            return
        if not self.recording or self._stopping.is_set():
            return
        self._put(self._row(event))

    def _put(self, row: tuple[str, tuple[Any, ...]]) -> None:
        try:
            self._queue.put_nowait(row)
        except queue.Full:
            self.dropped += 1
            if str(self.dropped).rstrip("0") == "1":  # 1, 10, 100, ...: counted, not a flood
                log.warning("history writer is behind: %d events not recorded", self.dropped)

    def _row(self, e: Event) -> tuple[str, tuple[Any, ...]]:
        data = e.data
        checks = data.get("checks") if e.kind in _BATCH else None  # COMPLETE's is a count
        names = sorted({str(c).split(":", 1)[-1].split("/", 1)[0] for c in checks or ()})
        head = (e.at, ",".join(names) or self.project_label, e.cycle, e.kind.value)
        head += (e.progress.done, e.progress.total, data.get("api_calls"))
        if e.kind in _BATCH:
            level = e.level.value if e.level is not None else None
            return "batches", (
                *head,
                e.elapsed_ms,
                level,
                len(data.get("failed") or ()),
                e.error_kind,
            )
        tail = (data.get("failed"), data.get("reason"), e.error_kind, e.message[:500] or None)
        return "cycles", (*head, data.get("duration_s"), *tail)

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> HistoryRecorder:
        self._thread = threading.Thread(target=self._run, name="quota-history", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 2.0) -> bool:
        """Write what is queued, then close; False when the writer did not finish in time."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout)
            return not self._thread.is_alive()
        return True

    # -- writer thread -----------------------------------------------------------------------
    def _run(self) -> None:
        try:
            self._conn = self._connect()
        except (OSError, sqlite3.Error) as exc:
            self._recover(exc)
        while True:
            try:
                rows = [self._queue.get(timeout=0.1)]
            except queue.Empty:
                if self._stopping.is_set():
                    break
                continue
            with contextlib.suppress(queue.Empty):
                while len(rows) < 500:
                    rows.append(self._queue.get_nowait())
            self._write(rows)
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _connect(self) -> sqlite3.Connection:
        private_dir(os.path.dirname(os.path.abspath(self.path)))  # noqa: PTH100, PTH120
        fd = open_private(self.path, os.O_RDWR)  # ours, 0600, never a planted link's target
        for suffix in _SIDE_FILES:
            drop_link(self.path + suffix)
        try:
            conn = sqlite3.connect(
                self.path,
                timeout=self.busy_timeout_s,
                isolation_level=None,
                check_same_thread=False,
            )
            if not same_file(fd, self.path):  # swapped for a link between our checks
                conn.close()
                raise _Unusable("the history file was replaced while opening it")
        finally:
            os.close(fd)
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            check = conn.execute("PRAGMA quick_check").fetchone()[0]
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if check != "ok" or version not in (0, SCHEMA_VERSION):
                raise _Unusable(
                    f"integrity check: {check}" if check != "ok" else f"schema version {version}"
                )
            conn.executescript(SCHEMA)
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            self._prune(conn)
        except BaseException:
            conn.close()
            raise
        return conn

    def _write(self, rows: list[tuple[str, tuple[Any, ...]]]) -> None:
        for _ in range(2):  # the second try goes to the fresh file after a set-aside
            if self._conn is None:
                return
            try:
                self._conn.execute("BEGIN IMMEDIATE")
                for table, row in rows:
                    marks = ",".join("?" * COLUMNS[table])
                    self._conn.execute(f"INSERT INTO {table} VALUES ({marks})", row)  # noqa: S608
                self._conn.execute("COMMIT")
            except sqlite3.Error as exc:
                with contextlib.suppress(sqlite3.Error):
                    self._conn.execute("ROLLBACK")
                self._recover(exc)
                continue
            self.written += len(rows)
            self._since_prune += len(rows)
            if (
                self._since_prune >= self.prune_every
                or time.monotonic() - self._pruned_at >= self.prune_interval_s
            ):
                with contextlib.suppress(sqlite3.Error):
                    self._prune(self._conn)
            return

    def _prune(self, conn: sqlite3.Connection) -> None:
        cutoff = time.time() - self.retention_s
        for table in COLUMNS:
            conn.execute(f"DELETE FROM {table} WHERE at < ?", (cutoff,))  # noqa: S608
        self._since_prune, self._pruned_at = 0, time.monotonic()

    def _recover(self, exc: BaseException) -> None:
        """Set the file aside and start afresh, or stop recording: one log line either way."""
        if self._conn is not None:
            with contextlib.suppress(sqlite3.Error):
                self._conn.close()
            self._conn = None
        name = getattr(exc, "sqlite_errorname", "") or ""
        problem = "locked" if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")) else "unusable"
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if isinstance(exc, OSError) or name.startswith(_ENVIRONMENT) or len(self.set_aside) >= 3:
            return self._give_up(f"history database {self.path} cannot be written ({detail})")
        try:
            moved = _set_aside(self.path)
            self.set_aside.append(moved)
            self._conn = self._connect()
        except (OSError, sqlite3.Error) as err:
            return self._give_up(
                f"history database {self.path} is {problem} ({detail}) "
                f"and cannot be replaced ({err})"
            )
        log.warning(
            "history database %s was %s (%s); set aside as %s, recording afresh",
            *(self.path, problem, detail, Path(moved).name),
        )
        return None

    def _give_up(self, message: str) -> None:
        self.recording = False
        log.warning("%s; warming goes on without a history", message)
        with contextlib.suppress(queue.Empty):
            while True:
                self._queue.get_nowait()


def _set_aside(path: str) -> str:
    """Rename the database with its WAL files, so the kept copy still opens as it was."""
    moved = set_aside(path)
    for suffix in _SIDE_FILES:
        if os.path.lexists(path + suffix):
            os.replace(path + suffix, moved + suffix)
    return moved
