"""Every batch and cycle in SQLite, so ``quota-tray stats`` can say how the API did over days.

Recording never slows the warmer: ``on_event`` only puts a row on a bounded queue and a writer
thread of its own does the SQL. A locked or corrupt database is set aside (renamed with a
``.bad-<time>`` suffix) with one log line and replaced by a fresh one; when even that fails the
app keeps warming without a history. Standard library only.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import queue
import sqlite3
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from trayapp.cache import set_aside
from trayapp.events import Event, WarmEvent
from trayapp.metrics import percentile
from trayapp.safefiles import open_private, private_dir, same_file

log = logging.getLogger(__name__)

FILENAME = "history.sqlite3"
SCHEMA_VERSION = 1
LEVELS = ("fire", "warn", "slowish", "slow")
_BATCH = {WarmEvent.BATCH_WARM, WarmEvent.BATCH_SLOW, WarmEvent.BATCH_FAIL}
_CYCLE = {
    WarmEvent.COMPLETE,
    WarmEvent.INCOMPLETE,
    WarmEvent.REWARM,
    WarmEvent.RETRY,
    WarmEvent.ERROR,
}
_COMMON = "at REAL NOT NULL, projects TEXT NOT NULL, cycle INTEGER NOT NULL, kind TEXT NOT NULL, \
done INTEGER, total INTEGER, api_calls INTEGER"
_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS batches ({_COMMON}, elapsed_ms INTEGER, level TEXT, failed INTEGER,
    error_kind TEXT);
CREATE INDEX IF NOT EXISTS batches_at ON batches(at);
CREATE TABLE IF NOT EXISTS cycles ({_COMMON}, duration_s REAL, failed INTEGER, reason TEXT,
    error_kind TEXT, message TEXT);
CREATE INDEX IF NOT EXISTS cycles_at ON cycles(at);
CREATE TABLE IF NOT EXISTS reads (at REAL NOT NULL, hits INTEGER NOT NULL, misses INTEGER NOT NULL);
"""
_INSERT = {"batches": 11, "cycles": 12, "reads": 3}  # table -> number of columns
# Errors that a fresh file cannot fix: the disk, not the database, is the problem.
_ENVIRONMENT = ("SQLITE_FULL", "SQLITE_IOERR", "SQLITE_READONLY", "SQLITE_CANTOPEN", "SQLITE_PERM")


class HistoryError(Exception):
    """No history to show: the file is missing or cannot be read."""

    def __init__(self, reason: str, message: str) -> None:
        self.reason = reason  # "missing" | "unreadable"
        super().__init__(message)


class _Unusable(sqlite3.DatabaseError):
    """The file opens but fails its integrity check or has another schema."""


def default_path(demo: bool = False) -> Path:
    """``user_state_dir/history.sqlite3``; the demo keeps its own beside it."""
    from trayapp.paths import state_dir

    return state_dir() / ("demo" if demo else "") / FILENAME


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

    def record_reads(self, hits: int, misses: int, at: float | None = None) -> None:
        """Reader-side cache hits and misses (see ``trayapp.cache.ReadStats``)."""
        if self.recording:
            self._put(("reads", (time.time() if at is None else at, hits, misses)))

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
            conn.executescript(_SCHEMA)
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
                    marks = ",".join("?" * _INSERT[table])
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
        for table in _INSERT:
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
    for suffix in ("-wal", "-shm"):
        if os.path.lexists(path + suffix):
            os.replace(path + suffix, moved + suffix)
    return moved


# -- queries ---------------------------------------------------------------------------------
@dataclass
class Series:
    """What the chart draws: (at, ms, level, failed) per batch, and cycle marks."""

    batches: list[tuple[float, int, str | None, bool]] = field(default_factory=list)
    completes: list[float] = field(default_factory=list)
    errors: list[float] = field(default_factory=list)
    since_s: float | None = None


def _open(path: str | os.PathLike[str]) -> sqlite3.Connection:
    target = Path(path)
    if not target.is_file():
        raise HistoryError("missing", f"no history yet: {target}")
    try:
        conn = sqlite3.connect(f"{target.resolve().as_uri()}?mode=ro", uri=True, timeout=5)
        conn.row_factory = sqlite3.Row
        conn.execute(
            "SELECT (SELECT 1 FROM batches), (SELECT 1 FROM cycles), (SELECT 1 FROM reads)"
        )
    except sqlite3.Error as exc:
        raise HistoryError("unreadable", f"history cannot be read: {target} ({exc})") from None
    return conn


def _window(since_s: float | None, now: float | None) -> tuple[float, float]:
    """(start, end) for ``at BETWEEN``; the whole history has no end (clocks move)."""
    now = time.time() if now is None else now
    return (now - since_s, now) if since_s is not None else (0.0, math.inf)


def series(path: str | os.PathLike[str], since_s: float | None, now: float | None = None) -> Series:
    """Batch times and cycle marks in time order, for :func:`trayapp.ui.plot.draw_chart`."""
    with contextlib.closing(_open(path)) as conn:
        span = _window(since_s, now)
        batches = conn.execute(f"{_BATCHES} AND elapsed_ms IS NOT NULL ORDER BY at", span)
        ends = "('complete', 'incomplete', 'error')"
        marks = conn.execute(f"{_CYCLES} AND kind IN {ends} ORDER BY at", span)
        out = Series(since_s=since_s)
        out.batches = [(b["at"], b["elapsed_ms"], b["level"], b["failed"] > 0) for b in batches]
        for m in marks:
            (out.completes if m["kind"] == "complete" else out.errors).append(m["at"])
    return out


def stats(path: str | os.PathLike[str], since_s: float | None, now: float | None = None) -> dict:
    """Batch time percentiles, level shares, failures, cycles and API calls in a window."""
    with contextlib.closing(_open(path)) as conn:
        span = _window(since_s, now)
        batches = conn.execute(_BATCHES, span).fetchall()
        cycles = conn.execute(f"{_CYCLES} ORDER BY at", span).fetchall()
        hits, misses = conn.execute(
            "SELECT total(hits), total(misses) FROM reads WHERE at BETWEEN ? AND ?", span
        ).fetchone()
    ms = sorted(b["elapsed_ms"] for b in batches if b["elapsed_ms"] is not None)
    levels = [b["level"] for b in batches if b["level"] in LEVELS]
    failed = [b for b in batches if b["kind"] == "batch_fail"]
    done = [c for c in cycles if c["kind"] == "complete"]
    durations = sorted(c["duration_s"] for c in done if c["duration_s"] is not None)
    calls = [c["api_calls"] for c in done if c["api_calls"] is not None]
    read = {"hits": int(hits), "misses": int(misses)} if hits + misses else None
    return {
        "since": _iso(span[0]) if since_s is not None else None,
        "until": _iso(span[1] if since_s is not None else now or time.time()),
        "projects": sorted({p for r in (*batches, *cycles) for p in r["projects"].split(",") if p}),
        "batches": len(batches),
        "batch_ms": {"p50": percentile(ms, 50), "p95": percentile(ms, 95), "max": max(ms or [0])},
        "levels": {
            lv: round(levels.count(lv) / len(levels), 4) if levels else 0.0 for lv in LEVELS
        },
        "failed_batches": len(failed),
        "failures": _count(b["error_kind"] for b in failed),
        "errors": _count(c["error_kind"] for c in cycles if c["kind"] == "error"),
        "incomplete_cycles": sum(c["kind"] == "incomplete" for c in cycles),
        "rewarms": _count(c["reason"] for c in cycles if c["kind"] == "rewarm"),
        "api_calls": sum(b["api_calls"] or 0 for b in batches),
        "api_calls_per_cycle": round(sum(calls) / len(calls), 1) if calls else None,
        "cycle_s": {"p50": percentile(durations, 50), "max": max(durations or [0])},
        "cycles": [_cycle(c) for c in done],
        "reads": read and read | {"hit_rate": round(hits / (hits + misses), 4)},
    }


_BATCHES = "SELECT * FROM batches WHERE at BETWEEN ? AND ?"
_CYCLES = "SELECT * FROM cycles WHERE at BETWEEN ? AND ?"


def _cycle(row: sqlite3.Row) -> dict[str, Any]:
    keys = ("cycle", "duration_s", "api_calls", "failed")
    return {"at": _iso(row["at"]), **{k: row[k] for k in keys}, "checks": row["total"]}


def _count(values: Any) -> dict[str, int]:
    out: dict[str, int] = {}
    for value in values:
        out[value or "unknown"] = out.get(value or "unknown", 0) + 1
    return dict(sorted(out.items(), key=lambda kv: (-kv[1], kv[0])))


def _iso(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).isoformat(timespec="seconds")
