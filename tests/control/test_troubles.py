"""What keeps failing is never only in a log nobody reads: Python logging's warnings reach
cache_warm.log as one line each (rate-limited), and a history that keeps failing is in
`status` (and the tray title and one notification: tests/ui); a cache file that cannot be
written is said by the cycle it keeps from being complete."""

from __future__ import annotations

import io
import logging
import sqlite3
import time

from emulator_fixtures import *  # noqa: F403

from trayapp.app import Files, Runtime
from trayapp.config import Settings
from trayapp.control import format_status, status_payload
from trayapp.logsink import FileLog, LogRoute
from trayapp.sources.recipe import SourceRecipe


def wait_for(condition, timeout=30.0):
    deadline = time.monotonic() + timeout
    while not (found := condition()):
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)
    return found


def runtime_for(tmp_path, emulator) -> Runtime:
    settings = Settings(
        projects=("p",),
        interval_s=0.02,
        endpoint=emulator.url,
        quotas_endpoint=emulator.url,
        gpu_metrics=("NVIDIA_T4_GPUS",),
        gpu_regions=("us-central1",),
        c3_regions=("us-east1",),
    )
    source = SourceRecipe(emulator.url, timeout_s=5.0, quotas_endpoint=emulator.url).build()
    files = Files(
        cache=tmp_path / "cache" / "quota-cache.json",
        log=tmp_path / "log" / "cache_warm.log",
        history=tmp_path / "state" / "history.sqlite3",
    )
    return Runtime(settings, source, files)


def status(runtime):
    return status_payload(runtime, time.monotonic())["troubles"]


def test_a_busy_history_keeps_failing_and_an_unwritable_cache_is_not_written_in_status(
    tmp_path, emulator
):
    cache_path = tmp_path / "cache" / "quota-cache.json"
    cache_path.mkdir(parents=True)  # the cache file cannot be written: a folder took its place
    history = tmp_path / "state" / "history.sqlite3"
    history.parent.mkdir(mode=0o700)
    holder = sqlite3.connect(history, isolation_level=None)  # someone in the sqlite3 shell
    holder.execute("CREATE TABLE other (x)")
    holder.execute("BEGIN EXCLUSIVE")
    holder.execute("INSERT INTO other VALUES (1)")
    runtime = runtime_for(tmp_path, emulator)
    runtime.history.busy_timeout_s, runtime.history.retry_s = 0.05, 0.05
    runtime.troubles.persist_s = 0.3  # a one-off hiccup is only logged; this one lasts
    try:
        runtime.warmer.start()
        troubles = wait_for(lambda: status(runtime))
        assert len(troubles) == 1 and "history database busy" in troubles[0], troubles
        # the cache is no trouble beside the rest: the cycle it keeps from being complete says it
        payload = wait_for(
            lambda: (p := status_payload(runtime, time.monotonic()))["level"] == "error" and p
        )
        assert payload["unwritten"] == f"cannot write {cache_path}: Is a directory"
        text = format_status(payload)
        assert "keeps failing: history database" in text and "keeps failing: cannot" not in text
        assert f"not written: cannot write {cache_path}: Is a directory" in text

        holder.execute("COMMIT")
        holder.close()
        cache_path.rmdir()  # the next tick writes the answers
        wait_for(lambda: status_payload(runtime, time.monotonic())["unwritten"] is None)
        runtime.warmer.force_rewarm()  # the cycle was over: the history writes with a batch
        wait_for(lambda: status(runtime) == [])
    finally:
        runtime.stop()
    log = (tmp_path / "log" / "cache_warm.log").read_text(encoding="utf-8").splitlines()
    busy = [line for line in log if "APP_WARNING: trayapp.history: history database" in line]
    assert len(busy) == 1 and "is busy" in busy[0], log


def test_python_warnings_reach_the_log_as_one_clean_line_each_rate_limited(tmp_path):
    filelog = FileLog(tmp_path / "cache_warm.log").open()
    now = [0.0]
    terminal = io.StringIO()
    route = LogRoute(filelog, window_s=60.0, burst=5, clock=lambda: now[0], stream=terminal)
    log = logging.getLogger("trayapp.somewhere")
    log.addHandler(route)
    try:
        for i in range(50):
            log.warning("cannot reach %s\n\x1b[31mred%s", "the bus", i)
        try:
            raise OSError(28, "No space left on device")
        except OSError:
            log.exception("writing failed")
        now[0] = 61.0
        log.warning("cannot reach %s\n\x1b[31mred%s", "the bus", 99)
        for i in range(10):
            log.error("distinct %d", i)  # one format: held back after the first
            log.error(f"flood {i}")  # ten formats: the burst limit holds them back
    finally:
        log.removeHandler(route)
        filelog.close()
    lines = (tmp_path / "cache_warm.log").read_text(encoding="utf-8").splitlines()
    assert [line.split(" ", 1)[1] for line in lines] == [
        "⚠️ APP_WARNING: trayapp.somewhere: cannot reach the bus [31mred0",
        "💥 APP_ERROR: trayapp.somewhere: writing failed "
        "(OSError: [Errno 28] No space left on device at test_troubles.py:"
        + lines[1].rsplit(":", 1)[1],
        "⚠️ APP_WARNING: trayapp.somewhere: cannot reach the bus [31mred99"
        " (49 more like it held back)",
        "💥 APP_ERROR: trayapp.somewhere: distinct 0",
        "💥 APP_ERROR: trayapp.somewhere: flood 0",
        "💥 APP_ERROR: trayapp.somewhere: flood 1",
        "💥 APP_ERROR: trayapp.somewhere: flood 2",
    ]
    said = [line.split(": ", 1)[1] for line in lines]
    assert terminal.getvalue().splitlines() == [f"quota-tray: {x}" for x in said]
