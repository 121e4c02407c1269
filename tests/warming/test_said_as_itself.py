"""A reload never races an answer, and a bug is said as itself: an answer for a check that is
gone is dropped, an exception while applying an answer fails that batch at once with its own
reason, and its traceback goes to the log; the fetcher process does the same for a bug."""

from __future__ import annotations

import logging
import signal
import subprocess
import sys
import time

import pytest
from emulator_fixtures import *  # noqa: F403
from fakes import Recorder
from userdirs import headless_env, run_cli, wait_until

from trayapp.logsink import FileLog, LogRoute
from trayapp.sources.base import SourceError
from trayapp.sources.fetcher.source import HelperSource
from trayapp.sources.recipe import SourceRecipe
from trayapp.warming.events import EventBus, WarmEvent
from trayapp.warming.plan import build_plan
from trayapp.warming.scheduler import Warmer

CONFIG = """projects = ["p"]
interval_s = 0.05
timeout_s = 5
[gpu]
metrics = [{metrics}]
regions = ["us-central1"]
[c3]
regions = ["us-central1"]
"""


def test_sighup_removing_a_gpu_while_its_family_call_is_in_flight(make_emulator, tmp_path):
    emulator = make_emulator(faults=["hang@cloudquotas"])  # the H100 family call hangs
    env = headless_env(tmp_path / "home")
    config = tmp_path / "config.toml"
    config.write_text(CONFIG.format(metrics='"NVIDIA_T4_GPUS", "NVIDIA_H100_GPUS"'))
    args = ["run", "--headless", "--config", str(config), "--endpoint", emulator.url]
    proc = subprocess.Popen(
        [sys.executable, "-m", "trayapp", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert emulator.wait_for_requests(
            lambda log: any(r.status == "hang" and r.region == "cloudquotas" for r in log), 60
        )
        config.write_text(CONFIG.format(metrics='"NVIDIA_T4_GPUS"'))
        proc.send_signal(signal.SIGHUP)
        log = tmp_path / "home" / "state" / "quota-tray" / "log" / "cache_warm.log"
        wait_until(lambda: "CONFIG_RELOADED" in log.read_text(), "the reload", proc=proc)
        emulator.clear_faults()  # the old plan's answer arrives now

        def complete():
            out = run_cli(env, "status", "--json")
            return out.returncode == 0 and '"complete": true' in out.stdout

        wait_until(complete, "the new plan's cycle complete", proc=proc)
        assert run_cli(env, "quit").returncode == 0
        _, stderr = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    text = log.read_text()
    assert "KeyError" not in stderr and "Traceback" not in stderr, stderr
    assert "KeyError" not in text and "APP_ERROR" not in text
    assert "timed out" not in text  # the batch was not left to its deadline
    assert "CACHE_WARM_COMPLETE" in text


class _Garbled:
    """A source whose regions.get answer is not a mapping of quotas: applying it is a bug."""

    def prepare(self) -> None:
        pass

    def fetch(self, project, region):
        return 42

    def release(self) -> None:
        pass

    def close(self) -> None:
        pass


def test_an_exception_while_applying_an_answer_fails_the_batch_at_once(tmp_path, caplog):
    bus, rec = EventBus(), Recorder()
    bus.subscribe(rec)
    plan = build_plan(["p"], ("NVIDIA_T4_GPUS",), ("us-central1",), "C3_CPUS", ("us-central1",))
    warmer = Warmer(plan, _Garbled(), bus, interval_s=0.02, fetch_deadline_s=30, retry_first_s=1e9)
    filelog = FileLog(tmp_path / "cache_warm.log").open()
    route = LogRoute(filelog)
    logging.getLogger().addHandler(route)
    started = time.monotonic()
    warmer.start()
    try:
        events = rec.wait_for(lambda evs: any(e.kind is WarmEvent.INCOMPLETE for e in evs), 20)
    finally:
        warmer.stop()
        logging.getLogger().removeHandler(route)
        filelog.close()
    assert time.monotonic() - started < 20  # failed at once, not at the 30 s deadline
    failed = next(e for e in events if e.kind is WarmEvent.BATCH_FAIL)
    assert failed.error_kind == "internal"
    assert "internal error (TypeError" in failed.message and "timed out" not in failed.message
    ended = next(e for e in events if e.kind is WarmEvent.INCOMPLETE)
    assert ended.data["reasons"] == [failed.message]
    batches = [e for e in events if e.kind is WarmEvent.BATCH_FAIL]
    assert len(batches) == 1  # a bug is not asked again within the round
    text = (tmp_path / "cache_warm.log").read_text()
    assert text.count("APP_ERROR") == 1  # the traceback, once
    assert "TypeError" in text and " at state.py:" in text and "batch_runner.py" in text


def test_a_bug_in_the_fetcher_process_is_said_as_itself_with_its_traceback(emulator, caplog):
    source = HelperSource(SourceRecipe(emulator.url, 5.0, emulator.url))
    try:
        with pytest.raises(SourceError) as caught:
            source.call("fetch_quota", "p", None)  # no request: a bug, not the API's doing
        with pytest.raises(SourceError) as again:
            source.call("fetch_quota", "p", None)
    finally:
        source.close()
    assert caught.value.kind == "internal"
    assert caught.value.message == (
        "fetcher: fetch_quota: internal error "
        "(AttributeError: 'NoneType' object has no attribute 'quota_id'); see the log"
    )
    assert caught.value.trace.startswith("AttributeError: ")
    assert "cloudquotas.py:" in caught.value.trace and "child.py:" in caught.value.trace
    logged = [r for r in caplog.records if r.name == "trayapp.sources"]
    assert len(logged) == 2 and "cloudquotas.py:" in logged[0].getMessage()
    assert again.value.kind == "internal"
