"""The observer that records every batch and cycle, so the history has rows to query.

Recording never slows the warmer: ``on_event`` only puts a row on a bounded queue and a writer
thread of its own does the SQL. A busy database (another program holds a lock on it, say the
``sqlite3`` shell) is healthy: its rows wait, and the writer tries again later, backing off. Only
a file SQLite says is corrupt is set aside (renamed with a ``.bad-<time>`` suffix) with one log
line and replaced by a fresh one; when even that fails, or the disk is the problem, the app keeps
warming without a history. ``problem`` says in one line what is wrong while it lasts.
Standard library only.
"""

from __future__ import annotations

import collections
import contextlib
import itertools
import logging
import os
import queue
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from trayapp.history.database import kind_of, open_database
from trayapp.history.database import set_aside_with_side_files as _set_aside
from trayapp.history.schema import COLUMNS
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
MAX_RETRY_S = 60.0


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
        retry_s: float = 1.0,
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
        self._gave_up: str | None = None
        self.retry_s = retry_s  # first wait after a busy database; doubles up to MAX_RETRY_S
        self._queue: queue.Queue[tuple[str, tuple[Any, ...]]] = queue.Queue(queue_size)
        self._pending: collections.deque[tuple[str, tuple[Any, ...]]] = collections.deque()
        self._max_pending = queue_size
        self._retry_at = 0.0  # monotonic: no attempt before
        self._backoff = retry_s
        self._busy_since: float | None = None
        self._other_errors = 0
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
            self._count_dropped()

    def _count_dropped(self) -> None:
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
            failed = len(data.get("failed") or ())
            return "batches", (*head, e.elapsed_ms, level, failed, e.error_kind)
        tail = (data.get("failed"), data.get("reason"), e.error_kind, e.message[:500] or None)
        return "cycles", (*head, data.get("duration_s"), *tail)

    @property
    def problem(self) -> str | None:
        """One line while the history cannot be written (busy, or given up), else None."""
        if self._gave_up is not None:
            return self._gave_up
        since = self._busy_since
        if since is None:
            return None
        return (
            f"history database busy for {time.monotonic() - since:.0f} s "
            f"(another program holds it): {len(self._pending)} rows waiting"
        )

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
        self._flush()  # open now: a corrupt file is set aside before the first row
        while True:
            ready = time.monotonic() >= self._retry_at
            self._take(0.0 if self._pending and ready else 0.1)
            stopping = self._stopping.is_set() and self._queue.empty()
            if self._pending and self.recording and (ready or stopping):
                self._flush()
                if stopping and self._pending and self._busy_since is not None:
                    log.warning(
                        "history database %s still busy at exit: %d rows not recorded",
                        *(self.path, len(self._pending)),
                    )
                    break
            if stopping and not self._pending:
                break
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _take(self, timeout: float) -> None:
        """Move what the warmer queued to the rows waiting to be written (bounded: the
        oldest go first when a busy database keeps them waiting too long)."""
        try:
            row = self._queue.get(timeout=timeout) if timeout > 0 else self._queue.get_nowait()
        except queue.Empty:
            return
        taken = [row]
        with contextlib.suppress(queue.Empty):
            while len(taken) < 500:
                taken.append(self._queue.get_nowait())
        if not self.recording:
            return
        self._pending.extend(taken)
        while len(self._pending) > self._max_pending:
            self._pending.popleft()
            self._count_dropped()

    def _flush(self) -> None:
        """Write the waiting rows, 500 at a time; on failure, decide what the error means."""
        if self._conn is None:
            try:
                self._conn = self._connect()
            except (OSError, sqlite3.Error) as exc:
                self._failed(exc)
                return
        while self._pending and self._conn is not None:
            rows = list(itertools.islice(self._pending, 500))
            if not self._write(rows):
                return
            for _ in rows:
                self._pending.popleft()
        if self._busy_since is not None:
            log.info("history database %s is free again: waiting rows written", self.path)
        self._busy_since, self._backoff, self._other_errors = None, self.retry_s, 0

    def _connect(self) -> sqlite3.Connection:
        conn = open_database(self.path, self.busy_timeout_s)
        try:
            self._prune(conn)
        except BaseException:
            conn.close()
            raise
        return conn

    def _write(self, rows: list[tuple[str, tuple[Any, ...]]]) -> bool:
        """One transaction; False (after ``_failed``) when it did not commit."""
        assert self._conn is not None
        try:
            self._conn.execute("BEGIN IMMEDIATE")
            for table, row in rows:
                marks = ",".join("?" * COLUMNS[table])
                self._conn.execute(f"INSERT INTO {table} VALUES ({marks})", row)  # noqa: S608
            self._conn.execute("COMMIT")
        except sqlite3.Error as exc:
            with contextlib.suppress(sqlite3.Error):
                self._conn.execute("ROLLBACK")
            self._failed(exc)
            return False
        self.written += len(rows)
        self._since_prune += len(rows)
        if (
            self._since_prune >= self.prune_every
            or time.monotonic() - self._pruned_at >= self.prune_interval_s
        ):
            with contextlib.suppress(sqlite3.Error):
                self._prune(self._conn)
        return True

    def _prune(self, conn: sqlite3.Connection) -> None:
        cutoff = time.time() - self.retention_s
        for table in COLUMNS:
            conn.execute(f"DELETE FROM {table} WHERE at < ?", (cutoff,))  # noqa: S608
        self._since_prune, self._pruned_at = 0, time.monotonic()

    def _failed(self, exc: BaseException) -> None:
        """Busy: wait and try again. Corrupt: set aside, start afresh. The disk, or a file
        not ours to change: stop recording. Anything else: reopen, up to three times."""
        kind = kind_of(exc)
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if kind == "busy":
            return self._busy(detail)
        self._close()
        if kind == "stuck":
            return self._give_up(f"history database {self.path} cannot be written ({detail})")
        if kind == "corrupt":
            return self._set_aside(detail)
        self._other_errors += 1
        if self._other_errors >= 3:
            return self._give_up(f"history database {self.path} keeps failing ({detail})")
        self._retry_at = time.monotonic() + self._backoff
        return None

    def _busy(self, detail: str) -> None:
        """Another program holds the database: keep the rows, try again later."""
        now = time.monotonic()
        if self._busy_since is None:
            self._busy_since = now
            log.warning(
                "history database %s is busy (%s: another program holds it); "
                "rows wait and are written when it is free",
                *(self.path, detail),
            )
        self._retry_at = now + self._backoff
        self._backoff = min(self._backoff * 2, MAX_RETRY_S)

    def _close(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(sqlite3.Error):
                self._conn.close()
            self._conn = None

    def _set_aside(self, detail: str) -> None:
        """SQLite says the file is corrupt: keep it beside, record into a fresh one."""
        if len(self.set_aside) >= 3:
            return self._give_up(f"history database {self.path} keeps coming back corrupt")
        try:
            moved = _set_aside(self.path)
            self.set_aside.append(moved)
            self._conn = self._connect()
        except (OSError, sqlite3.Error) as err:
            return self._give_up(
                f"history database {self.path} is corrupt ({detail}) and cannot be replaced ({err})"
            )
        log.warning(
            "history database %s was corrupt (%s); set aside as %s, recording afresh",
            *(self.path, detail, Path(moved).name),
        )
        return None

    def _give_up(self, message: str) -> None:
        self._close()
        self.recording = False
        self._gave_up = f"{message}; not recording"
        log.warning("%s; warming goes on without a history", message)
        self._pending.clear()
        with contextlib.suppress(queue.Empty):
            while True:
                self._queue.get_nowait()
