"""The history recorder (SQLite, own writer thread) and its statistics queries."""

from __future__ import annotations

import logging
import sqlite3
import stat
import subprocess
import sys
import threading
import time

import pytest
from fakes import FakeSource
from history_samples import NOW, P, batch, complete, known_history, record

from trayapp import history
from trayapp.history import HistoryError, HistoryRecorder
from trayapp.warming.events import Event, EventBus, Progress, WarmEvent
from trayapp.warming.levels import Level
from trayapp.warming.plan import build_plan
from trayapp.warming.scheduler import Warmer


def rows(path, sql):
    with sqlite3.connect(path) as conn:
        return conn.execute(sql).fetchall()


def warnings_of(caplog):
    return [r for r in caplog.records if r.name == "trayapp.history" and r.levelno >= 30]


def test_batches_and_cycles_are_recorded_with_their_details(tmp_path):
    path = tmp_path / "state" / "quota-tray" / "history.sqlite3"
    events = [
        Event(WarmEvent.START, 1, P, at=NOW, data={"checks": 38}),  # not a batch nor a cycle
        batch(NOW + 1, 812),
        batch(NOW + 3, 2_650, "slowish"),
        batch(NOW + 5, 950, fail="rate_limited", calls=1),
        complete(NOW + 40, 39.5),
        Event(
            WarmEvent.REWARM, 2, Progress(0, 20, 0, 18), at=NOW + 1800, data={"reason": "forced"}
        ),
        Event(
            WarmEvent.ERROR,
            2,
            P,
            at=NOW + 1801,
            message="permission denied on p2",
            error_kind="permission",
        ),
        Event(WarmEvent.SKIP, 2, P, at=NOW + 1802, data={"skipped": 3, "reason": "busy"}),
    ]
    rec = record(path, events)
    assert rec.written == 6 and rec.dropped == 0 and rec.recording
    got = rows(
        path,
        "SELECT at, projects, cycle, kind, done, total, api_calls, elapsed_ms, "
        "level, failed, error_kind FROM batches ORDER BY at",
    )
    assert got == [
        (NOW + 1, "p1", 1, "batch_warm", 5, 38, 2, 812, "fire", 0, None),
        (NOW + 3, "p1", 1, "batch_slow", 5, 38, 2, 2650, "slowish", 0, None),
        (NOW + 5, "p1", 1, "batch_fail", 5, 38, 1, 950, "fire", 1, "rate_limited"),
    ]
    cycles = rows(
        path,
        "SELECT kind, cycle, duration_s, api_calls, failed, reason, error_kind, "
        "message, done, total FROM cycles ORDER BY at",
    )
    assert cycles == [
        ("complete", 1, 39.5, 18, 0, None, None, None, 38, 38),
        ("rewarm", 2, None, None, None, "forced", None, None, 0, 38),
        ("error", 2, None, None, None, None, "permission", "permission denied on p2", 5, 38),
    ]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert rows(path, "PRAGMA journal_mode") == [("wal",)]


def test_projects_come_from_the_checks_and_cycles_use_the_label(tmp_path):
    path = tmp_path / "h.sqlite3"
    two = batch(NOW, 500)
    two = Event(
        two.kind,
        1,
        P,
        at=NOW,
        elapsed_ms=500,
        level=Level.FIRE,
        data={**two.data, "checks": ["gpu:b/r1/M", "c3:a/r2/C3_CPUS"]},
    )
    record(path, [two, complete(NOW + 1, 1.0)], label="a,b")
    assert rows(path, "SELECT projects FROM batches") == [("a,b",)]
    assert rows(path, "SELECT projects FROM cycles") == [("a,b",)]


def test_a_real_warmer_fills_the_history(tmp_path):
    path = tmp_path / "h.sqlite3"
    plan = build_plan(["p"], ("NVIDIA_T4_GPUS",), ("r1", "r2"), "C3_CPUS", ("r1", "r2", "r3"))
    bus = EventBus()
    rec = HistoryRecorder(path, "p").start()
    bus.subscribe(rec)
    done = threading.Event()
    bus.subscribe(
        type("W", (), {"on_event": lambda s, e: e.kind is WarmEvent.COMPLETE and done.set()})()
    )
    warmer = Warmer(plan, FakeSource(), bus, interval_s=0.02)
    warmer.start()
    assert done.wait(10)
    warmer.stop()
    assert rec.stop(10)
    s = history.stats(path, None)
    assert s["batches"] == 3 and s["projects"] == ["p"]
    assert [c["checks"] for c in s["cycles"]] == [5] and s["api_calls_per_cycle"] == 3


# -- statistics against a known history ---------------------------------------------------------
def test_stats_figures_are_exact(tmp_path):
    path = tmp_path / "h.sqlite3"
    known_history(path)
    s = history.stats(path, 3600, now=NOW)
    assert s["batches"] == 20
    assert s["batch_ms"] == {"p50": 1000, "p95": 1900, "max": 2000}  # nearest rank
    assert s["levels"] == {"fire": 0.5, "warn": 0.25, "slowish": 0.15, "slow": 0.1}
    assert s["failed_batches"] == 3
    assert s["failures"] == {"rate_limited": 2, "timeout": 1}
    assert s["api_calls"] == 40 and s["api_calls_per_cycle"] == 19.0
    assert s["cycle_s"] == {"p50": 40.0, "max": 50.0}
    assert [(c["cycle"], c["duration_s"], c["api_calls"]) for c in s["cycles"]] == [
        (1, 40.0, 18),
        (2, 50.0, 20),
    ]
    assert s["rewarms"] == {"periodic": 1} and s["errors"] == {}
    assert "reads" not in s  # the history records what the warmer did, not what readers read
    assert s["projects"] == ["p1"]
    assert s["since"] == "2027-01-15T07:00:00+00:00" and s["until"] == "2027-01-15T08:00:00+00:00"
    everything = history.stats(path, None, now=NOW)
    assert everything["batches"] == 21 and everything["batch_ms"]["max"] == 9_999
    assert everything["since"] is None


def test_a_history_with_the_old_reads_table_still_reads_and_records(tmp_path):
    path = tmp_path / "h.sqlite3"
    known_history(path)
    with sqlite3.connect(path) as conn:  # as an earlier version left it
        conn.execute("CREATE TABLE reads (at REAL NOT NULL, hits INTEGER, misses INTEGER)")
        conn.execute("INSERT INTO reads VALUES (?, 8, 2)", (NOW - 10,))
    conn.close()
    rec = HistoryRecorder(path, "p1").start()
    rec.on_event(batch(NOW - 5, 100, "fire"))
    assert rec.stop(10) and rec.written == 1
    s = history.stats(path, 3600, now=NOW)
    assert s["batches"] == 21 and "reads" not in s


def test_series_for_the_chart(tmp_path):
    path = tmp_path / "h.sqlite3"
    known_history(path)
    s = history.series(path, 3600, now=NOW)
    assert len(s.batches) == 20 and s.batches[0] == (NOW - 600, 100, "fire", False)
    assert s.batches[3][3] is True  # failed
    assert s.completes == [NOW - 500, NOW - 300] and s.errors == [] and s.since_s == 3600
    assert [b[0] for b in s.batches] == sorted(b[0] for b in s.batches)


def test_empty_window_and_missing_or_unreadable_history(tmp_path):
    path = tmp_path / "h.sqlite3"
    known_history(path)
    empty = history.stats(path, 60, now=NOW - 3 * 86400)
    assert empty["batches"] == 0 and empty["batch_ms"] == {"p50": 0, "p95": 0, "max": 0}
    assert empty["api_calls_per_cycle"] is None
    with pytest.raises(HistoryError) as missing:
        history.stats(tmp_path / "nope.sqlite3", None)
    assert missing.value.reason == "missing"
    junk = tmp_path / "junk.sqlite3"
    junk.write_bytes(b"not a database at all" * 100)
    with pytest.raises(HistoryError) as unreadable:
        history.series(junk, None)
    assert unreadable.value.reason == "unreadable"
    assert not (tmp_path / "nope.sqlite3").exists()  # reading never creates the file


# -- retention -------------------------------------------------------------------------------------
def test_retention_deletes_old_rows_at_open(tmp_path):
    path = tmp_path / "h.sqlite3"
    now = time.time()
    record(
        path,
        [
            batch(now - 40 * 86400, 500),
            complete(now - 31 * 86400, 30.0),
            batch(now - 86400, 600),
            complete(now - 3600, 31.0),
        ],
    )
    assert len(rows(path, "SELECT * FROM batches")) == 2  # nothing pruned while writing
    record(path, [], retention_days=30)
    assert rows(path, "SELECT elapsed_ms FROM batches") == [(600,)]
    assert rows(path, "SELECT duration_s FROM cycles") == [(31.0,)]


def test_retention_runs_again_every_n_inserts(tmp_path):
    path = tmp_path / "h.sqlite3"
    now = time.time()
    rec = HistoryRecorder(path, "p1", retention_days=1, prune_every=3).start()
    for event in (batch(now - 5 * 86400, 1), batch(now - 4 * 86400, 2), batch(now, 3)):
        rec.on_event(event)
    assert rec.stop(10)
    assert rows(path, "SELECT elapsed_ms FROM batches") == [(3,)]


# -- a database that cannot be used ---------------------------------------------------------------
def _damage(path):
    record(path, [batch(NOW + i, 500 + i) for i in range(2000)])
    data = bytearray(path.read_bytes())
    page = 4096
    data[page * 2 : page * 6] = bytes((i * 7 + 3) % 251 for i in range(page * 4))  # not the header
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("damage", ["garbage", "pages"])
def test_a_corrupt_database_is_set_aside_and_recording_goes_on(tmp_path, caplog, damage):
    path = tmp_path / "h.sqlite3"
    if damage == "garbage":
        path.write_bytes(b"\x00garbage, not SQLite\n" * 500)
    else:
        _damage(path)
    before = path.read_bytes()
    caplog.set_level(logging.INFO)
    rec = record(path, [batch(NOW, 700), complete(NOW + 1, 40.0)])
    warned = warnings_of(caplog)
    assert len(warned) == 1 and "set aside as h.sqlite3.bad-" in warned[0].getMessage()
    (kept,) = tmp_path.glob("h.sqlite3.bad-*[0-9]")
    assert kept.read_bytes() == before and rec.set_aside == [str(kept)]
    assert rows(path, "SELECT elapsed_ms FROM batches") == [(700,)]
    assert rec.recording and rec.written == 2


@pytest.mark.parametrize("when", ["at open", "while running"])
def test_a_busy_database_is_waited_for_never_set_aside(tmp_path, caplog, when):
    """A person holds the history in the sqlite3 shell (a real second connection with an
    exclusive lock) for longer than the busy timeout: the rows wait, nothing is renamed."""
    path = tmp_path / "h.sqlite3"
    caplog.set_level(logging.INFO)
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("CREATE TABLE other (x)")
    rec = HistoryRecorder(path, "p1", busy_timeout_s=0.1, retry_s=0.05)
    if when == "while running":
        holder.close()
        rec.start()
        rec.on_event(batch(NOW, 100))
        _wait(lambda: rec.written == 1)
        holder = sqlite3.connect(path, isolation_level=None)
    inode = path.stat().st_ino
    holder.execute("BEGIN EXCLUSIVE")
    holder.execute("INSERT INTO other VALUES (1)")
    if when == "at open":
        rec.start()
    rec.on_event(batch(NOW + 1, 200))
    rec.on_event(batch(NOW + 2, 300))
    _wait(lambda: "busy" in (rec.problem or "") and "2 rows waiting" in rec.problem)
    rec.on_event(batch(NOW + 3, 400))  # still busy: queued behind the others
    holder.execute("COMMIT")
    holder.close()
    _wait(lambda: rec.written == (4 if when == "while running" else 3))
    assert rec.problem is None and rec.recording
    assert rec.stop(10)
    assert path.stat().st_ino == inode and not list(tmp_path.glob("h.sqlite3.bad-*"))
    assert rec.set_aside == []
    assert rows(path, "SELECT x FROM other") == [(1,)]  # the holder's work is intact
    expected = [(200,), (300,), (400,)] if when == "at open" else [(100,), (200,), (300,), (400,)]
    assert rows(path, "SELECT elapsed_ms FROM batches ORDER BY at") == expected
    warned = warnings_of(caplog)
    assert len(warned) == 1, [w.getMessage() for w in warned]
    assert "is busy" in warned[0].getMessage() and "set aside" not in warned[0].getMessage()


def test_a_database_busy_until_the_app_stops_loses_only_its_waiting_rows(tmp_path, caplog):
    path = tmp_path / "h.sqlite3"
    record(path, [batch(NOW, 100)])
    caplog.set_level(logging.INFO)
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    holder.execute("DELETE FROM cycles")  # a write: the exclusive lock is really taken
    rec = HistoryRecorder(path, "p1", busy_timeout_s=0.1, retry_s=0.05).start()
    rec.on_event(batch(NOW + 1, 200))
    _wait(lambda: rec.problem is not None)
    assert rec.stop(10)
    holder.execute("ROLLBACK")
    holder.close()
    assert rows(path, "SELECT elapsed_ms FROM batches") == [(100,)]
    assert not list(tmp_path.glob("h.sqlite3.bad-*"))
    said = [w.getMessage() for w in warnings_of(caplog)]
    assert len(said) == 2 and "1 rows not recorded" in said[1], said


def test_a_history_of_another_schema_version_is_left_as_it_is(tmp_path, caplog):
    path = tmp_path / "h.sqlite3"
    with sqlite3.connect(path) as conn:  # a newer quota-tray's file: healthy, not ours to change
        conn.execute("CREATE TABLE batches (x)")
        conn.execute("PRAGMA user_version = 99")
    conn.close()
    before = path.read_bytes()
    caplog.set_level(logging.INFO)
    rec = record(path, [batch(NOW, 100)])
    assert not rec.recording and rec.set_aside == [] and not list(tmp_path.glob("*.bad-*"))
    assert path.read_bytes() == before
    assert "schema version 99" in rec.problem
    assert len(warnings_of(caplog)) == 1


def test_when_even_a_fresh_file_fails_warming_goes_on_without_a_history(
    tmp_path, caplog, monkeypatch
):
    path = tmp_path / "h.sqlite3"
    path.write_bytes(b"garbage" * 1000)
    caplog.set_level(logging.INFO)

    def cannot(_path):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(history.recorder, "_set_aside", cannot)
    rec = record(path, [batch(NOW, 100)])
    warned = warnings_of(caplog)
    assert len(warned) == 1 and "without a history" in warned[0].getMessage()
    assert not rec.recording
    rec.on_event(batch(NOW + 1, 100))  # quietly ignored from now on
    assert len(warnings_of(caplog)) == 1


def test_a_full_disk_is_not_blamed_on_the_file(tmp_path, caplog, monkeypatch):
    """SQLITE_FULL: a fresh file would not help, so nothing is set aside; recording stops."""
    connect = HistoryRecorder._connect

    def full(self):
        conn = connect(self)
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        conn.execute(f"PRAGMA max_page_count = {pages}")
        return conn

    monkeypatch.setattr(HistoryRecorder, "_connect", full)
    caplog.set_level(logging.INFO)
    rec = record(tmp_path / "h.sqlite3", [batch(NOW + i, i) for i in range(500)])
    (warned,) = warnings_of(caplog)
    assert "database or disk is full" in warned.getMessage()
    assert not rec.recording and rec.set_aside == [] and rec.written == 0
    assert not list(tmp_path.glob("*.bad-*"))


def test_an_unwritable_place_stops_recording_with_one_line(tmp_path, caplog):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    caplog.set_level(logging.INFO)
    rec = record(blocker / "h.sqlite3", [batch(NOW, 1)])
    assert not rec.recording and len(warnings_of(caplog)) == 1


# -- never blocking the warmer ------------------------------------------------------------------
def test_on_event_never_blocks_even_when_the_writer_is_stuck(tmp_path, caplog):
    caplog.set_level(logging.INFO)
    gate = threading.Event()
    rec = HistoryRecorder(tmp_path / "h.sqlite3", "p1", queue_size=10)
    rec._write = lambda rows: gate.wait(30)  # a disk that hangs
    rec.start()
    rec.on_event(batch(NOW, 1))
    _wait(lambda: rec._queue.qsize() == 0)  # the writer holds the first row and hangs
    started = time.perf_counter()
    slowest = 0.0
    for i in range(2000):
        t = time.perf_counter()
        rec.on_event(batch(NOW + i, 100))
        slowest = max(slowest, time.perf_counter() - t)
    elapsed = time.perf_counter() - started
    assert elapsed < 2.0 and slowest < 0.5  # the writer hangs for 30 s
    assert rec.dropped == 2000 - 10
    counts = [r.getMessage() for r in warnings_of(caplog)]
    assert counts == [
        f"history writer is behind: {n} events not recorded" for n in (1, 10, 100, 1000)
    ]
    t = time.perf_counter()
    assert rec.stop(0.2) is False  # gives up waiting; the thread is a daemon
    assert time.perf_counter() - t < 1.0
    gate.set()


def _wait(condition, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="XDG paths are Linux's")
def test_default_path_follows_xdg_state_home(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    assert history.default_path() == tmp_path / "quota-tray" / "history.sqlite3"
    assert history.default_path(demo=True) == tmp_path / "quota-tray/demo/history.sqlite3"


def test_history_plot_and_autostart_import_no_third_party_package():
    code = (
        "import sys; before = set(sys.modules)\n"
        "import trayapp.history, trayapp.ui.plot, trayapp.autostart\n"
        "new = {m.split('.')[0] for m in set(sys.modules) - before}\n"
        "print(sorted(new - set(sys.stdlib_module_names) - {'trayapp'}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
