"""Fault campaign: the warmer, the real Compute client and the emulator over loopback HTTP.

Every error the API gives, on every region at once; a long run with faults that come and go; a
cache directory that fills up or turns read-only; wall-clock jumps; sleep and resume; a cache
file that vanishes or turns into a directory. Every wait is on a condition with a deadline.
"""

from __future__ import annotations

import contextlib
import errno
import gc
import logging
import os
import random
import resource
import shutil
import statistics
import subprocess
import tempfile
import threading
import time
import warnings
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache as memoize
from itertools import pairwise
from pathlib import Path

import pytest
from emulator_fixtures import *  # noqa: F403
from fakes import Recorder

from trayapp import cache
from trayapp.emulator.server import Emulator
from trayapp.sources.base import FATAL_KINDS
from trayapp.sources.compute import ComputeSource
from trayapp.warming.events import EventBus, WarmEvent
from trayapp.warming.levels import Level
from trayapp.warming.plan import DEFAULT_C3_REGIONS, DEFAULT_GPU_REGIONS, build_plan
from trayapp.warming.scheduler import Warmer

# An exception escaping any thread (warmer, batch, fetch, emulator) fails the test.
pytestmark = pytest.mark.filterwarnings("error::pytest.PytestUnhandledThreadExceptionWarning")

PROJECT = "fault-proj"
REGIONS = DEFAULT_C3_REGIONS  # every region of the default plan; the GPU ones are among them
CHECKS = 38  # default plan: 20 GPU + 18 C3
BATCHES = (WarmEvent.BATCH_WARM, WarmEvent.BATCH_SLOW, WarmEvent.BATCH_FAIL)


# -- helpers ------------------------------------------------------------------------------------
class ErrorSink:
    """CacheWriter.on_error target that can be waited on."""

    def __init__(self) -> None:
        self.messages: list[str] = []
        self._cond = threading.Condition()

    def __call__(self, message: str) -> None:
        with self._cond:
            self.messages.append(message)
            self._cond.notify_all()

    def wait_for(self, n: int, timeout: float = 10.0) -> list[str]:
        with self._cond:
            if not self._cond.wait_for(lambda: len(self.messages) >= n, timeout):
                raise AssertionError(f"{n} cache errors not reported in {timeout}s")
            return list(self.messages)


@dataclass
class Rig:
    warmer: Warmer
    rec: Recorder
    writer: cache.CacheWriter
    errors: ErrorSink
    path: Path


@pytest.fixture
def make_rig():
    """Factory: the real client at ``endpoint``, a warmer over the default plan, a CacheWriter
    and a Recorder; every warmer is stopped at teardown."""
    made: list[Warmer] = []

    def make(endpoint, path, *, timeout_s=2.0, **kw) -> Rig:
        bus = EventBus()
        errors = ErrorSink()
        writer = cache.CacheWriter(path, on_error=errors)
        rec = Recorder()
        bus.subscribe(writer)  # before the recorder: a recorded event's write is done
        bus.subscribe(rec)
        source = ComputeSource(endpoint, timeout_s=timeout_s)
        kw.setdefault("interval_s", 0.02)
        kw.setdefault("fetch_deadline_s", timeout_s)
        warmer = Warmer(build_plan([PROJECT]), source, bus, output=writer, **kw)
        made.append(warmer)
        return Rig(warmer, rec, writer, errors, Path(path))

    yield make
    for warmer in made:
        warmer.stop()


@pytest.fixture(autouse=True)
def no_error_logs(caplog):
    """The EventBus logs an observer's failure at ERROR: none may happen."""
    yield
    bad = [r for r in caplog.get_records("call") if r.levelno >= logging.ERROR]
    assert not bad, [r.getMessage() for r in bad]


def completes(n: int = 1):
    """``n`` cycles ended, complete or with failed checks."""
    return lambda events: sum(e.kind in ENDS for e in events) >= n


def of_kind(events, *kinds):
    return [e for e in events if e.kind in kinds]


class FileWatcher:
    """A reader on its own thread loading the cache file over and over while the warmer
    writes it; every failure to load once the file exists is kept."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.loads = 0
        self.failures: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="cache-reader", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        seen = False
        while not self._stop.is_set():
            try:
                cache.load(self.path)
            except cache.CacheError as exc:
                if seen or exc.reason != "missing":
                    self.failures.append(str(exc))
            else:
                seen = True
                self.loads += 1
            self._stop.wait(0.002)

    def stop(self) -> None:
        """Stop after at least one load of the file (a cycle may be over in milliseconds)."""
        wait_until(lambda: self.loads > 0 or bool(self.failures), 5)
        self._stop.set()
        self._thread.join(5)


def wait_until(predicate, timeout: float, step: float = 0.02) -> bool:
    """Poll ``predicate`` until it holds or ``timeout`` passes (for state with no event)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() >= deadline:
            return predicate()
        threading.Event().wait(step)
    return True


ENDS = (WarmEvent.COMPLETE, WarmEvent.INCOMPLETE)


def assert_one_line(message) -> None:
    assert isinstance(message, str) and message.strip()
    assert "\n" not in message and "\r" not in message and len(message) < 400
    assert "Traceback" not in message


# -- 1. every error kind on every region at once -------------------------------------------------
# name -> (emulator fault on every request, or None for a closed port; kind; text in the message)
ERROR_CASES = {
    "403-forbidden": ("403", "permission", "permission denied (HTTP 403 forbidden)"),
    "403-rate-limit": ("403:rateLimitExceeded", "rate_limited", "HTTP 403 rateLimitExceeded"),
    "404": ("404", "not_found", "no such region or project (HTTP 404 notFound)"),
    "429": ("429", "rate_limited", "rate limited (HTTP 429"),
    "500": ("500", "unavailable", "service unavailable (HTTP 500"),
    "503": ("503", "unavailable", "service unavailable (HTTP 503"),
    "hang": ("hang", "timeout", "answer within 0.05 s"),
    "broken-body": ("broken_body", "bad_response", "unreadable answer"),
    "no-quotas": ("no_quotas", "bad_response", "quota data unavailable (RESULT_INCOMPLETE)"),
    "refused": (None, "unavailable", "cannot reach http://127.0.0.1:"),
}


def assert_all_failed(doc, text: str, *, per_region: bool) -> None:
    checks = doc["projects"][PROJECT]["checks"]
    assert len(checks) == CHECKS
    for check in checks:
        assert check["status"] == "error", check
        assert check["limit"] is None and check["usage"] is None and check["fetched_at"] is None
        assert_one_line(check["error"])
        assert text in check["error"], check["error"]
        if per_region:
            assert check["error"].startswith(f"{PROJECT}/{check['region']}: "), check["error"]


@pytest.mark.parametrize("case", list(ERROR_CASES))
def test_every_region_failing_at_once(case, make_emulator, refused_url, make_rig, tmp_path):
    spec, kind, text = ERROR_CASES[case]
    endpoint = refused_url if spec is None else make_emulator(faults=[spec]).url
    timeout_s = 0.05 if spec == "hang" else 2.0  # every request hangs: nothing to cut short
    rig = make_rig(
        endpoint, tmp_path / cache.FILENAME, timeout_s=timeout_s, rewarm_s=1e9, backoff_ticks=1
    )
    watcher = FileWatcher(rig.path)
    rig.warmer.start()
    try:
        events = rig.rec.wait_for(completes(1), timeout=30)
    finally:
        rig.warmer.stop()
        watcher.stop()

    fatal = kind in FATAL_KINDS
    assert not of_kind(events, WarmEvent.COMPLETE)  # every check failed: never complete
    done = of_kind(events, WarmEvent.INCOMPLETE)[0]
    assert done.level is Level.ERROR and done.snapshot["warmer"]["level"] == "error"
    assert done.data["failed"] == CHECKS and done.progress.done == CHECKS
    assert_all_failed(done.snapshot, text, per_region=not fatal)
    assert_all_failed(cache.load(rig.path).doc, text, per_region=not fatal)
    fails = of_kind(events, WarmEvent.BATCH_FAIL)
    assert fails and {e.error_kind for e in fails} == {kind}
    for event in fails:
        assert_one_line(event.message)
    reported = of_kind(events, WarmEvent.ERROR)
    assert len(reported) == (1 if fatal else 0)  # a fatal error is reported once
    if fatal:  # and warming stops for the project at once: one request, not 38
        assert done.data["api_calls"] == 1
    elif kind == "not_found":  # a region that does not exist is asked once
        assert done.data["api_calls"] == len(REGIONS)
    else:  # a transient one is tried again later in the cycle, three times per region
        assert done.data["api_calls"] == 3 * len(REGIONS)
    assert not watcher.failures and watcher.loads > 0
    assert rig.errors.messages == []


# Nine kinds at once, spread over the 18 regions; the slow one (hang) only on C3-only regions.
MIXED = ("404", "500", "hang", "429", "broken_body", "403:rateLimitExceeded", "503", "no_quotas")
MIXED_TEXT = {
    "404": "HTTP 404 notFound",
    "500": "HTTP 500 backendError",
    "hang": "answer within",
    "429": "HTTP 429 rateLimitExceeded",
    "broken_body": "unreadable answer",
    "403:rateLimitExceeded": "HTTP 403 rateLimitExceeded",
    "503": "HTTP 503 backendError",
    "no_quotas": "RESULT_INCOMPLETE",
}


def test_every_error_kind_at_once_across_the_regions(make_emulator, make_rig, tmp_path):
    assigned = {region: MIXED[i % len(MIXED)] for i, region in enumerate(REGIONS)}
    assert not {assigned[r] for r in DEFAULT_GPU_REGIONS} & {"hang"}
    emulator = make_emulator(faults=[f"{spec}@{r}" for r, spec in assigned.items()])
    rig = make_rig(
        emulator.url, tmp_path / cache.FILENAME, timeout_s=0.3, rewarm_s=1e9, backoff_ticks=1
    )
    watcher = FileWatcher(rig.path)
    rig.warmer.start()
    try:
        events = rig.rec.wait_for(completes(1), timeout=30)
    finally:
        rig.warmer.stop()
        watcher.stop()
    done = of_kind(events, WarmEvent.INCOMPLETE)[0]
    assert done.data["failed"] == CHECKS
    for doc in (done.snapshot, cache.load(rig.path).doc):
        for check in doc["projects"][PROJECT]["checks"]:
            assert check["status"] == "error" and check["limit"] is None
            assert_one_line(check["error"])
            assert check["error"].startswith(f"{PROJECT}/{check['region']}: ")
            assert MIXED_TEXT[assigned[check["region"]]] in check["error"], check["error"]
    assert not of_kind(events, WarmEvent.ERROR)
    assert {e.error_kind for e in of_kind(events, WarmEvent.BATCH_FAIL)} <= {
        "not_found",
        "unavailable",
        "timeout",
        "rate_limited",
        "bad_response",
    }
    assert not watcher.failures and watcher.loads > 0


# -- 2. a long accelerated run with faults that come and go -------------------------------------
LONG_RUN_S = 125.0
LONG_INTERVAL_S = 0.05
LONG_REWARM_S = 2.0
SEED = 20261124
# (fault, weight): transient server errors dominate, as they do in life. No 404: a region that
# answers 404 does not exist, and is not asked again until a re-warm someone starts.
LONG_FAULTS = (
    ("500", 4),
    ("503", 4),
    ("429", 2),
    ("403:rateLimitExceeded", 1),
    ("broken_body", 2),
    ("no_quotas", 2),
    ("hang", 1),
    ("403", 1),
)


STORM_PAUSE_S = (0.2, 1.2)  # between two storm actions
STORM_CLEAR_P = 0.2  # share of actions that clear every fault
STORM_COUNTS = (1, 1, 1, 2)  # how many requests a fault hits, unless cleared first


class Tally:
    """A lean observer for long runs: counts, never keeps snapshots."""

    def __init__(self) -> None:
        self.kinds: Counter[WarmEvent] = Counter()
        self.completed: set[int] = set()
        self.rewarms: list[tuple[int, str]] = []
        self.error_kinds: Counter[str] = Counter()
        self.reported: Counter[int] = Counter()  # cycle -> ERROR events
        self.failed_checks = 0

    def on_event(self, event) -> None:
        self.kinds[event.kind] += 1
        if event.kind in ENDS:
            self.completed.add(event.cycle)
            self.failed_checks += event.data["failed"]
        elif event.kind is WarmEvent.REWARM:
            self.rewarms.append((event.cycle, event.data["reason"]))
        elif event.kind is WarmEvent.BATCH_FAIL:
            self.error_kinds[event.error_kind] += 1
        elif event.kind is WarmEvent.ERROR:
            self.reported[event.cycle] += 1


class FaultStorm:
    """Adds random faults on random regions and clears them all now and then (seeded)."""

    def __init__(self, emulator: Emulator, seed: int) -> None:
        self.emulator = emulator
        self.rng = random.Random(seed)
        self.added: Counter[str] = Counter()
        self.clears = 0
        self.hits: Counter[str] = Counter()
        self.requests = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="fault-storm", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        kinds, weights = zip(*LONG_FAULTS, strict=True)
        while not self._stop.wait(self.rng.uniform(*STORM_PAUSE_S)):
            if self.rng.random() < STORM_CLEAR_P:
                self.emulator.clear_faults()
                self.clears += 1
            else:
                what = self.rng.choices(kinds, weights)[0]
                region = self.rng.choice(REGIONS)
                count = self.rng.choice(STORM_COUNTS)
                self.emulator.add_fault(f"{what}@{PROJECT}/{region}#{count}")
                self.added[what] += 1
            self.drain_log()

    def drain_log(self) -> None:
        """Count and drop the emulator's request log, which would otherwise grow."""
        for record in self.emulator.requests(reset=True):
            self.requests += 1
            if record.fault:
                self.hits[record.fault] += 1

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self.emulator.clear_faults()
        self.drain_log()


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@pytest.mark.slow
@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc to count fds")
def test_long_run_with_faults_that_come_and_go(tmp_path, capsys):
    import tracemalloc

    from google.cloud import compute_v1  # noqa: F401 - imported before the baseline

    gc.collect()
    base_threads, base_fds = threading.active_count(), open_fds()
    path = tmp_path / cache.FILENAME
    emulator = Emulator(latency=2)
    emulator.start()
    tally = Tally()
    bus = EventBus()
    errors = ErrorSink()
    bus.subscribe(cache.CacheWriter(path, on_error=errors))
    bus.subscribe(tally)
    source = ComputeSource(emulator.url, timeout_s=0.2)
    warmer = Warmer(
        build_plan([PROJECT]),
        source,
        bus,
        interval_s=LONG_INTERVAL_S,
        rewarm_s=LONG_REWARM_S,
    )
    storm = FaultStorm(emulator, SEED)
    samples: list[tuple[float, int, int, int, int]] = []  # t, traced, rss, fds, threads
    tracemalloc.start()
    watcher = FileWatcher(path)
    started = time.monotonic()
    try:
        warmer.start()
        storm.start()
        while (elapsed := time.monotonic() - started) < LONG_RUN_S:
            samples.append(
                (
                    elapsed,
                    tracemalloc.get_traced_memory()[0],
                    rss_bytes(),
                    open_fds(),
                    threading.active_count(),
                )
            )
            threading.Event().wait(0.5)
    finally:
        storm.stop()
        warmer.stop()
        watcher.stop()
        wall = time.monotonic() - started
        tracemalloc.stop()
        emulator.stop()
    threads_back = wait_until(lambda: threading.active_count() <= base_threads, 15)
    gc.collect()
    fds_back = wait_until(lambda: open_fds() <= base_fds, 15)

    third = len(samples) // 3
    first, last = samples[:third], samples[-third:]

    def median(rows, i):
        return statistics.median(r[i] for r in rows)

    traced_growth = median(last, 1) - median(first, 1)
    rss_growth = median(last, 2) - median(first, 2)
    cycles = warmer.state.cycle.id
    cut_short = [c for c in range(1, cycles) if c not in tally.completed]
    expected = wall / LONG_REWARM_S
    figures = (
        f"long run: {wall:.0f} s, interval {LONG_INTERVAL_S} s, rewarm {LONG_REWARM_S} s, "
        f"seed {SEED}\n"
        f"  faults injected {sum(storm.added.values())} ({dict(storm.added)}), "
        f"cleared {storm.clears} times; requests {storm.requests}, "
        f"answered with a fault {sum(storm.hits.values())} ({dict(storm.hits)})\n"
        f"  cycles {cycles}, completed {len(tally.completed)} (expected ~{expected:.0f}), "
        f"cut short {len(cut_short)}; batches {sum(tally.kinds[k] for k in BATCHES)}, "
        f"failed batches {tally.kinds[WarmEvent.BATCH_FAIL]} {dict(tally.error_kinds)}, "
        f"checks given up {tally.failed_checks}, reported errors {tally.kinds[WarmEvent.ERROR]}\n"
        f"  cache loads by a reader {watcher.loads}, failed {len(watcher.failures)}; "
        f"threads {base_threads} -> peak {max(s[4] for s in samples)} -> "
        f"{threading.active_count()}; fds {base_fds} -> peak {max(s[3] for s in samples)} -> "
        f"{open_fds()}\n"
        f"  traced memory first third {median(first, 1) / 1e6:.2f} MB, last third "
        f"{median(last, 1) / 1e6:.2f} MB ({traced_growth / 1e3:+.0f} kB); RSS "
        f"{median(first, 2) / 1e6:.1f} MB -> {median(last, 2) / 1e6:.1f} MB "
        f"({rss_growth / 1e6:+.1f} MB)"
    )
    with capsys.disabled():
        print("\n" + figures)

    assert wall >= 120
    assert sum(storm.added.values()) >= 100 and sum(storm.hits.values()) >= 60, figures
    # A cycle's 19 ticks take 0.95 s of its 2 s; one whose faults cost more than the rest
    # (timeouts, retry pauses, rate-limit back-off) is cut short by the next re-warm.
    assert len(tally.completed) >= 0.9 * expected, figures
    assert len(cut_short) <= 0.1 * cycles, (cut_short, figures)
    assert all(reason == "periodic" for _, reason in tally.rewarms)
    assert max(tally.reported.values(), default=0) <= 1  # a fatal error: once per cycle
    assert not watcher.failures, watcher.failures[:3]
    assert watcher.loads > 1000
    assert errors.messages == []
    assert threads_back, f"threads: {threading.active_count()} > {base_threads}"
    assert fds_back, f"fds: {open_fds()} > {base_fds}"
    assert max(s[4] for s in last) <= max(s[4] for s in first) + 10, figures
    assert max(s[3] for s in last) <= max(s[3] for s in first) + 10, figures
    assert traced_growth < 1e6, figures
    assert rss_growth < 25e6, figures
    final = cache.load(path)
    assert final.cycle(PROJECT)["id"] == cycles
    assert final.is_warm(PROJECT, max_age_s=5 * LONG_REWARM_S)  # the storm never starved it


# -- 3. a cache directory that fills up or turns read-only --------------------------------------
def _sh(*cmd: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, capture_output=True, text=True, check=False)


@memoize
def can_mount() -> bool:
    """True when this process may mount a tmpfs (root with CAP_SYS_ADMIN, mount present)."""
    if not shutil.which("mount") or os.geteuid() != 0:
        return False
    probe = tempfile.mkdtemp(prefix="quota-tray-mount-")
    try:
        if _sh("mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", probe).returncode != 0:
            return False
        return _sh("umount", probe).returncode == 0
    finally:
        with contextlib.suppress(OSError):
            os.rmdir(probe)


def _retry(cmd: tuple[str, ...], timeout: float = 10.0) -> None:
    """Run a mount command, retrying while the mount is busy (a write still open)."""
    deadline = time.monotonic() + timeout
    while (done := _sh(*cmd)).returncode != 0:
        if time.monotonic() >= deadline:
            raise AssertionError(f"{' '.join(cmd)}: {done.stderr.strip()}")
        threading.Event().wait(0.05)


class Blocker:
    """Makes the cache directory unwritable for real, then writable again."""

    technique = ""
    strerror = ""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def block(self) -> None: ...

    def unblock(self) -> None: ...

    def close(self) -> None:
        self.unblock()


class TmpfsFull(Blocker):
    technique = "a 512 KiB tmpfs filled up"
    strerror = os.strerror(errno.ENOSPC)

    def __init__(self, directory: Path) -> None:
        super().__init__(directory)
        _retry(("mount", "-t", "tmpfs", "-o", "size=512k,mode=0700", "tmpfs", str(directory)))
        self.filler = directory / "filler"

    def block(self) -> None:
        with open(self.filler, "wb", buffering=0) as f:
            for size in (65536, 4096, 1):
                with contextlib.suppress(OSError):
                    while True:
                        f.write(b"\0" * size)
        with open(self.filler, "ab", buffering=0) as f, pytest.raises(OSError) as caught:
            f.write(b"\0")
        assert caught.value.errno == errno.ENOSPC

    def unblock(self) -> None:
        self.filler.unlink(missing_ok=True)

    def close(self) -> None:
        _sh("umount", "-l", str(self.directory))


class TmpfsReadOnly(Blocker):
    technique = "a tmpfs remounted read-only"
    strerror = os.strerror(errno.EROFS)

    def __init__(self, directory: Path) -> None:
        super().__init__(directory)
        _retry(("mount", "-t", "tmpfs", "-o", "size=4m,mode=0700", "tmpfs", str(directory)))

    def block(self) -> None:
        _retry(("mount", "-o", "remount,ro", str(self.directory)))

    def unblock(self) -> None:
        _retry(("mount", "-o", "remount,rw", str(self.directory)))

    def close(self) -> None:
        _sh("umount", "-l", str(self.directory))


class ChmodReadOnly(Blocker):
    """Permissions bind everybody but root."""

    technique = "directory mode 0500"
    strerror = os.strerror(errno.EACCES)

    def block(self) -> None:
        self.directory.chmod(0o500)

    def unblock(self) -> None:
        self.directory.chmod(0o700)


class FileSizeLimit(Blocker):
    """RLIMIT_FSIZE: the kernel refuses to grow any file of this process past 1 KiB (EFBIG),
    root or not. Python ignores SIGXFSZ, so the write fails instead of killing us."""

    technique = "RLIMIT_FSIZE of 1 KiB"
    strerror = os.strerror(errno.EFBIG)

    def __init__(self, directory: Path) -> None:
        super().__init__(directory)
        self.saved: tuple[int, int] | None = None

    def block(self) -> None:
        self.saved = resource.getrlimit(resource.RLIMIT_FSIZE)
        resource.setrlimit(resource.RLIMIT_FSIZE, (1024, self.saved[1]))

    def unblock(self) -> None:
        if self.saved is not None:
            resource.setrlimit(resource.RLIMIT_FSIZE, self.saved)
            self.saved = None


def make_blocker(how: str, directory: Path) -> Blocker:
    if how == "file size limit":
        return FileSizeLimit(directory)
    if can_mount():
        return TmpfsFull(directory) if how == "disk full" else TmpfsReadOnly(directory)
    if how == "read-only" and os.geteuid() != 0:
        return ChmodReadOnly(directory)
    warnings.warn(
        f"{how}: no tmpfs can be mounted here; the directory is made unwritable with "
        "RLIMIT_FSIZE instead",
        stacklevel=2,
    )
    return FileSizeLimit(directory)


@pytest.fixture
def blocker(request, tmp_path):
    directory = tmp_path / "cache"
    directory.mkdir(mode=0o700)
    made = make_blocker(request.param, directory)
    yield made
    made.close()


@pytest.mark.parametrize(
    "blocker", ["disk full", "read-only", "file size limit"], indirect=True, ids=str
)
def test_an_unwritable_cache_is_no_complete_cycle_and_is_written_at_the_next_tick(
    blocker, emulator, make_rig, capsys
):
    path = blocker.directory / cache.FILENAME
    rig = make_rig(emulator.url, path, rewarm_s=1e9)
    rig.warmer.start()
    rig.rec.wait_for(completes(1), timeout=30)
    before = path.read_bytes()
    old = cache.load(path)
    assert old.is_complete(PROJECT)
    writes = rig.writer.writes

    blocker.block()
    try:
        rig.warmer.force_rewarm()
        events = rig.rec.wait_for(completes(2), timeout=30)
        # warming went on in memory: every check of cycle 2 answered, none failed ...
        second = [e for e in events if e.cycle == 2]
        assert len(of_kind(second, *BATCHES)) == 16 and not of_kind(second, WarmEvent.BATCH_FAIL)
        # ... but its answers never reached the file: 💥, never ✅, saying where and why
        assert not of_kind(second, WarmEvent.COMPLETE)
        (end,) = of_kind(second, WarmEvent.INCOMPLETE)
        assert end.data["failed"] == 0 and end.level is Level.ERROR
        assert end.data["unwritten"] == f"cannot write {path}: {blocker.strerror}"
        assert end.data["retry_in_s"] == 0.0  # the next tick (interval 0.02 s, rounded)
        fresh = end.snapshot["projects"][PROJECT]
        assert fresh["cycle"]["id"] == 2 and fresh["cycle"]["completed_at"]
        assert rig.warmer.health()["unwritten"] == end.data["unwritten"]
        assert rig.writer.writes == writes  # nothing reached the disk
        # the ticks try again (and fail): still exactly one clear error
        retries = []
        retry = rig.writer.retry
        rig.writer.retry = lambda: retries.append(retry()) or retries[-1]
        deadline = time.monotonic() + 10
        while len(retries) < 3:
            assert time.monotonic() < deadline, "no tick tried the write again"
            time.sleep(0.01)
        assert set(retries) == {end.data["unwritten"]}
        assert len(rig.errors.messages) == 1, rig.errors.messages
        message = rig.errors.messages[0]
        assert_one_line(message)
        assert str(path) in message and blocker.strerror in message
        assert message.endswith("answers kept in memory, written again at each tick")
        # the old file is intact and still serves the earlier values
        assert path.read_bytes() == before
        assert cache.load(path).doc == old.doc
        assert cache.load(path).is_complete(PROJECT)
        assert [p.name for p in blocker.directory.iterdir() if p.name.endswith(".tmp")] == []
        seen = len(rig.rec.events)
    finally:
        blocker.unblock()

    # no re-warm, no event asked for: the next tick writes the answers, and the cycle is
    # complete now (✅ after the 💥, the same cycle)
    later = rig.rec.wait_for(lambda evs: of_kind(evs[seen:], WarmEvent.COMPLETE), timeout=10)
    (healed,) = of_kind(later[seen:], WarmEvent.COMPLETE)
    assert healed.cycle == 2 and healed.level is Level.COMPLETE
    assert rig.warmer.health()["unwritten"] is None
    snap = cache.load(path)
    assert snap.cycle(PROJECT)["id"] == 2 and snap.is_complete(PROJECT)
    assert snap.warmer["level"] == "complete"
    assert rig.writer.writes > writes and rig.writer.failing is None
    rig.warmer.stop()
    assert len(rig.errors.messages) == 1  # recovering is not another error
    assert (path.stat().st_mode & 0o777) == 0o600
    with capsys.disabled():
        print(f"\n[{blocker.technique}] {end.data['unwritten']}")


# -- 4 and 5. clock jumps, sleep and resume -----------------------------------------------------
class Clocks:
    """The warmer's monotonic clock and the wall clock, each the real one plus an offset the
    test moves. The wall offset also moves what ``trayapp.cache.now_iso`` says (fetched_at,
    started_at), as setting the system clock would."""

    def __init__(self) -> None:
        self.mono_offset = 0.0
        self.wall_offset = 0.0

    def monotonic(self) -> float:
        return time.monotonic() + self.mono_offset

    def wall(self) -> float:
        return time.time() + self.wall_offset


@pytest.fixture
def clocks(monkeypatch):
    shifted = Clocks()

    class ShiftedDatetime(datetime):
        @classmethod
        def now(cls, tz=None):
            return datetime.now(tz) + timedelta(seconds=shifted.wall_offset)

    monkeypatch.setattr(cache, "datetime", ShiftedDatetime)
    return shifted


@dataclass(frozen=True)
class Tick:
    at: float  # real monotonic time the tick began
    cycle_before: int
    cycle_after: int


class TickLog:
    """Records every tick of a warmer (when it began, and the cycle before and after it)."""

    def __init__(self, warmer: Warmer) -> None:
        self.ticks: list[Tick] = []
        self._cond = threading.Condition()
        real = warmer._tick

        def tick() -> None:
            at, before = time.monotonic(), warmer.state.cycle.id
            real()
            with self._cond:
                self.ticks.append(Tick(at, before, warmer.state.cycle.id))
                self._cond.notify_all()

        warmer._tick = tick

    def wait(self, n: int, timeout: float = 10.0) -> list[Tick]:
        """Wait for ``n`` more ticks than seen so far; returns those."""
        with self._cond:
            start = len(self.ticks)
            if not self._cond.wait_for(lambda: len(self.ticks) >= start + n, timeout):
                raise AssertionError(f"{n} ticks did not come in {timeout}s")
            return self.ticks[start:]

    def since(self, at: float) -> list[Tick]:
        with self._cond:
            return [t for t in self.ticks if t.at >= at]

    def rewarm_tick(self, cycle: int, timeout: float = 10.0) -> int:
        """Index of the tick that started cycle ``cycle`` (waiting for it)."""

        def found() -> int | None:
            return next(
                (i for i, t in enumerate(self.ticks) if t.cycle_before < cycle <= t.cycle_after),
                None,
            )

        with self._cond:
            if not self._cond.wait_for(lambda: found() is not None, timeout):
                raise AssertionError(f"cycle {cycle} did not start in {timeout}s")
            return found()

    def first_after(self, at: float) -> int:
        with self._cond:
            return next(i for i, t in enumerate(self.ticks) if t.at >= at)


REWARM_S = 30.0  # never reached in real time by these tests: only clock jumps reach it
INTERVAL_S = 0.02


def clocked_rig(make_rig, emulator, tmp_path, clocks):
    rig = make_rig(
        emulator.url,
        tmp_path / cache.FILENAME,
        clock=clocks.monotonic,
        wall_clock=clocks.wall,
        rewarm_s=REWARM_S,
        interval_s=INTERVAL_S,
        skip_log_s=1e9,
    )
    return rig, TickLog(rig.warmer)


def warm_by_wall(rig, clocks) -> bool:
    """What a reader on this machine concludes from the file right now."""
    return cache.load(rig.path).is_warm(PROJECT, max_age_s=REWARM_S, now=clocks.wall())


def assert_rewarm_at_next_tick(rig, ticks, cycle: int, jumped_at: float):
    rewarm = ticks.rewarm_tick(cycle)
    assert rewarm <= ticks.first_after(jumped_at), "the re-warm did not start at the next tick"
    assert ticks.ticks[rewarm].at - jumped_at < 5 * INTERVAL_S + 0.5
    events = rig.rec.wait_for(lambda evs: any(e.cycle == cycle for e in evs), timeout=10)
    rewarms = [e for e in of_kind(events, WarmEvent.REWARM) if e.cycle == cycle]
    assert [e.data["reason"] for e in rewarms] == ["periodic"]
    return rewarms[0]


def test_wall_clock_jumps_neither_rewarm_nor_stop_rewarms(clocks, emulator, make_rig, tmp_path):
    rig, ticks = clocked_rig(make_rig, emulator, tmp_path, clocks)
    rig.warmer.start()
    rig.rec.wait_for(completes(1), timeout=30)
    assert warm_by_wall(rig, clocks)

    # set back an hour: no re-warm; a reader does not trust values from its future
    clocks.wall_offset -= 3600
    ticks.wait(15)
    assert rig.warmer.state.cycle.id == 1 and not of_kind(rig.rec.events, WarmEvent.REWARM)
    assert not warm_by_wall(rig, clocks)

    # forward again, to half the re-warm period after the cycle began: still nothing to do
    clocks.wall_offset += 3600 + REWARM_S / 2
    ticks.wait(15)
    assert rig.warmer.state.cycle.id == 1 and not of_kind(rig.rec.events, WarmEvent.REWARM)
    assert warm_by_wall(rig, clocks)

    # the warmer's clock jumps 100 intervals (short of the re-warm): one tick, not a burst
    jumped_at = time.monotonic()
    clocks.mono_offset += 100 * INTERVAL_S
    ticks.wait(10)
    early = [t for t in ticks.since(jumped_at) if t.at < jumped_at + 5 * INTERVAL_S]
    assert len(early) <= 7, early
    assert rig.warmer.state.cycle.id == 1

    # the wall clock goes back an hour again, and the warmer's clock reaches the re-warm:
    # the re-warm still comes, at the next tick
    clocks.wall_offset -= 3600
    clocks.mono_offset += REWARM_S
    jumped_at = time.monotonic()
    assert_rewarm_at_next_tick(rig, ticks, 2, jumped_at)
    rig.rec.wait_for(completes(2), timeout=30)
    assert warm_by_wall(rig, clocks)
    # ticks kept their spacing through every jump: about one per interval
    spacing = statistics.median(b.at - a.at for a, b in pairwise(ticks.ticks))
    assert 0.5 * INTERVAL_S < spacing < 2 * INTERVAL_S
    # and the new cycle's start re-arms both triggers: no second re-warm follows
    ticks.wait(15)
    assert rig.warmer.state.cycle.id == 2


def test_resume_after_sleep_counted_by_the_clock_rewarms_at_once(
    clocks, emulator, make_rig, tmp_path
):
    """Linux: CLOCK_BOOTTIME, like the wall clock, moves on through a suspend."""
    rig, ticks = clocked_rig(make_rig, emulator, tmp_path, clocks)
    rig.warmer.start()
    rig.rec.wait_for(completes(1), timeout=30)
    ticks.wait(5)
    assert rig.warmer.state.cycle.id == 1

    clocks.mono_offset += REWARM_S + 60
    clocks.wall_offset += REWARM_S + 60
    jumped_at = time.monotonic()
    assert not warm_by_wall(rig, clocks)  # a reader sees stale values ...
    rewarm = assert_rewarm_at_next_tick(rig, ticks, 2, jumped_at)  # ... warming starts at once
    assert rewarm.data["stale"] is True  # and the tray says stale until the cycle completes
    rig.rec.wait_for(completes(2), timeout=30)
    assert warm_by_wall(rig, clocks)
    ticks.wait(15)
    assert rig.warmer.state.cycle.id == 2


def test_resume_after_sleep_the_clock_missed_rewarms_by_wall_time(
    clocks, emulator, make_rig, tmp_path
):
    """macOS and Windows: time.monotonic stands still while the machine sleeps; the wall
    clock says how old the values are, so it starts the re-warm."""
    rig, ticks = clocked_rig(make_rig, emulator, tmp_path, clocks)
    rig.warmer.start()
    rig.rec.wait_for(completes(1), timeout=30)
    ticks.wait(5)

    clocks.wall_offset += REWARM_S + 60  # slept; the warmer's clock did not count it
    jumped_at = time.monotonic()
    assert not warm_by_wall(rig, clocks)
    assert assert_rewarm_at_next_tick(rig, ticks, 2, jumped_at).data["stale"] is True
    rig.rec.wait_for(completes(2), timeout=30)
    assert warm_by_wall(rig, clocks)
    ticks.wait(15)
    assert rig.warmer.state.cycle.id == 2  # the wall trigger re-armed: no re-warm storm

    # the wall clock set back after that never starts one, and never stops the schedule
    clocks.wall_offset -= 7200
    ticks.wait(15)
    assert rig.warmer.state.cycle.id == 2
    clocks.mono_offset += REWARM_S
    assert_rewarm_at_next_tick(rig, ticks, 3, time.monotonic())


# -- 6. the cache file deleted, or replaced by a directory --------------------------------------
def batches(n: int, cycle: int):
    return lambda evs: len([e for e in evs if e.kind in BATCHES and e.cycle == cycle]) >= n


def test_a_deleted_cache_file_is_written_again(emulator, make_rig, tmp_path):
    rig = make_rig(emulator.url, tmp_path / cache.FILENAME, rewarm_s=1e9, interval_s=0.05)
    rig.warmer.start()
    rig.rec.wait_for(batches(3, 1), timeout=30)
    rig.path.unlink()  # mid-cycle
    seen = len(of_kind(rig.rec.events, *BATCHES))
    rig.rec.wait_for(lambda evs: len(of_kind(evs, *BATCHES)) >= seen + 2, timeout=10)
    assert cache.load(rig.path).cycle(PROJECT)["done"] > 0
    rig.rec.wait_for(completes(1), timeout=30)

    rig.path.unlink()  # idle: the re-warm's first event writes it
    rig.warmer.force_rewarm()
    rig.rec.wait_for(lambda evs: of_kind(evs, WarmEvent.REWARM), timeout=10)
    snap = cache.load(rig.path)
    assert snap.cycle(PROJECT)["id"] == 2
    assert snap.is_complete(PROJECT)  # the earlier values came back with it
    rig.rec.wait_for(completes(2), timeout=30)
    rig.warmer.stop()
    assert cache.load(rig.path).cycle(PROJECT)["completed_at"]
    assert (rig.path.stat().st_mode & 0o777) == 0o600
    assert rig.errors.messages == []


def test_a_directory_in_place_of_the_cache_file(emulator, make_rig, tmp_path):
    rig = make_rig(emulator.url, tmp_path / cache.FILENAME, rewarm_s=1e9, interval_s=0.05)
    rig.warmer.start()
    rig.rec.wait_for(completes(1), timeout=30)
    rig.path.unlink()
    rig.path.mkdir()
    writes = rig.writer.writes

    rig.warmer.force_rewarm()
    (message,) = rig.errors.wait_for(1)
    rig.rec.wait_for(batches(3, 2), timeout=10)  # warming goes on
    assert_one_line(message)
    assert str(rig.path) in message and os.strerror(errno.EISDIR) in message
    assert rig.path.is_dir() and rig.writer.writes == writes
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []

    rig.path.rmdir()  # while cycle 2 still runs: its next batch writes the file
    seen = len(of_kind(rig.rec.events, *BATCHES))
    rig.rec.wait_for(lambda evs: len(of_kind(evs, *BATCHES)) >= seen + 2, timeout=10)
    assert cache.load(rig.path).cycle(PROJECT)["id"] == 2
    events = rig.rec.wait_for(completes(2), timeout=30)
    rig.warmer.stop()
    done = next(e for e in events if e.cycle == 2 and e.kind is WarmEvent.COMPLETE)
    assert done.data["failed"] == 0
    snap = cache.load(rig.path)
    assert snap.cycle(PROJECT)["id"] == 2 and snap.is_complete(PROJECT)
    assert rig.errors.messages == [message]  # one error for the whole episode
