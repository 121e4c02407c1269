"""The QuotaSource the app uses: the real source, run in a fetcher process while it is needed.

google-cloud-compute costs ~140 MB that Python never gives back once imported. The tray only
needs it for the minutes a cycle runs, so the library lives in a fetcher process (spawned, so
it works the same from a frozen build, on macOS and on Windows): started by ``prepare()``
before a batch is timed, ended a short grace after ``release()`` says the round is over.

The process also makes deadlines hard. A call that gets no answer within ``deadline_s`` fails
with ``timeout`` and its process is killed (its other calls fail with ``unavailable``, which the
warmer retries), a moment before the warmer's own deadline, so the warmer's next batch already
goes to a fresh one. A process that dies costs only the calls in
flight. ``close()`` kills it, and returns within a second whatever a request is doing.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import threading
import time
from typing import Any

from trayapp.sources.base import RegionQuotas, SourceError
from trayapp.sources.capacity import CapacityAnswer, CapacityRequest
from trayapp.sources.fetcher.child import report_project
from trayapp.sources.fetcher.process import Call, FetcherProcess, stop_resource_tracker
from trayapp.sources.quota_rule import QuotaAnswer, QuotaRequest
from trayapp.sources.recipe import SourceRecipe
from trayapp.sources.usage import UsagePoint, UsageRequest

TYPE_CHECKING = False
if TYPE_CHECKING:  # the fetcher's side imports the client module; this side only names it
    from trayapp.sources.preferences import Preference

IDLE_GRACE_S = 5.0  # after release(): a retry round that starts at once reuses the process
START_TIMEOUT_S = 60.0  # start-up imports google-cloud-compute: ~1.5 s idle, more under load
# A call gives up this much before its deadline: the warmer's deadline is the same value,
# counted from its batch's start, so a stuck process is replaced before the warmer moves on
# (a next batch sent to it would lose its calls, and their attempts, to the kill).
DEADLINE_LEAD_S = 0.1


class HelperSource:
    """A QuotaSource that forwards every call to a fetcher process built from ``recipe``."""

    def __init__(
        self,
        recipe: SourceRecipe,
        *,
        deadline_s: float | None = None,
        idle_grace_s: float = IDLE_GRACE_S,
        start_timeout_s: float = START_TIMEOUT_S,
    ) -> None:
        self.recipe = recipe
        self.deadline_s = recipe.timeout_s if deadline_s is None else deadline_s
        self.idle_grace_s = idle_grace_s
        self.start_timeout_s = start_timeout_s
        self.last_start_s: float | None = None  # how long the latest process took to be ready
        self.started = 0  # processes started so far
        self.last_pid: int | None = None  # the latest one's, alive or not
        self.requests = 0  # HTTP requests the fetchers sent for our calls ("API calls")
        self._context = multiprocessing.get_context("spawn")
        self._lock = threading.Lock()
        self._process: FetcherProcess | None = None
        self._ready: Call | None = None  # the process's prepare() call
        self._closed = False
        self._release_timer: threading.Timer | None = None

    # -- QuotaSource ---------------------------------------------------------------------------
    def prepare(self) -> None:
        """Start the process and build its clients (untimed, before a batch); SourceError."""
        self._ready_process()

    def fetch(self, project: str, region: str) -> RegionQuotas:
        return self.call("fetch", project, region, where=f"{project}/{region}")

    def fetch_quota(self, project: str, request: QuotaRequest) -> QuotaAnswer | None:
        asked = request.quota_id or request.metric
        return self.call("fetch_quota", project, request, where=f"{project}/{asked}")

    def fetch_project(self, project: str) -> RegionQuotas:
        return self.call("fetch_project", project, where=f"{project}/project-wide quotas")

    def fetch_preferences(self, project: str) -> list[Preference]:
        return self.call("fetch_preferences", project, where=f"{project}/quotaPreferences")

    def fetch_capacity(self, project: str, request: CapacityRequest) -> CapacityAnswer:
        where = f"{project}/{request.region}/capacity advice"
        return self.call("fetch_capacity", project, request, where=where)

    def fetch_usage(self, project: str, request: UsageRequest) -> list[UsagePoint]:
        where = f"{project}/{request.metric_type}"
        return self.call("fetch_usage", project, request, where=where)

    def release(self) -> None:
        """The round is over: end the process after ``idle_grace_s``, unless a call comes
        first (a retry round that starts at once): then it stays until the next release()."""
        with self._lock:
            if self._process is None or self._closed:
                return
            if self._release_timer is not None:
                self._release_timer.cancel()
            timer = threading.Timer(self.idle_grace_s, self._reap)
            timer.args = (timer,)  # a timer cancelled too late knows it is not current
            timer.daemon = True
            timer.name = "quota-fetcher-reaper"
            self._release_timer = timer
        timer.start()

    def close(self) -> None:
        """Kill the process at once; waiting calls fail. Returns within about a second."""
        with self._lock:
            self._closed = True
            process, self._process, self._ready = self._process, None, None
            if self._release_timer is not None:
                self._release_timer.cancel()
        if process is not None:
            process.kill("was stopped: the app is closing")
            stop_resource_tracker()

    # -- forwarding ----------------------------------------------------------------------------
    def call(self, method: str, *args: Any, where: str = "fetch") -> Any:
        """``method(*args)`` on the real source in the process, within ``deadline_s``."""
        process = self._ready_process()
        call = process.call(method, args, where)
        answered = call.wait(max(self.deadline_s - DEADLINE_LEAD_S, self.deadline_s / 2))
        with self._lock:  # a call that never came back sent one request at least
            self.requests += call.requests if answered else 1
        if not answered:
            self._retire(process, f"was replaced: {where} passed its deadline")
            raise SourceError(
                "timeout",
                f"{where}: timed out, no complete answer within {self.deadline_s:g} s "
                "(the fetcher was replaced)",
            )
        return call.outcome()

    @property
    def timeout_s(self) -> float:
        """The whole-answer deadline of a call (and the library's per-read timeout)."""
        return self.deadline_s

    @timeout_s.setter
    def timeout_s(self, value: float) -> None:
        """A reloaded config: the deadline holds from the next call, the per-read timeout
        from the next fetcher process."""
        with self._lock:
            self.recipe = dataclasses.replace(self.recipe, timeout_s=float(value))
            self.deadline_s = self.recipe.timeout_s

    @property
    def pid(self) -> int | None:
        """The fetcher process's id, or None when none runs (for status and benchmarks)."""
        with self._lock:
            process = self._process
        return process.pid if process is not None and process.alive else None

    def _ready_process(self) -> FetcherProcess:
        with self._lock:
            if self._closed:
                raise SourceError("unavailable", "the quota source is closed")
            if self._release_timer is not None:  # used again: kept until the next release()
                self._release_timer.cancel()
                self._release_timer = None
            process = self._process
            if process is None or not process.alive:
                process = FetcherProcess(self.recipe, self._context)
                self._process, self._ready = process, None
                self.started += 1
                self.last_pid = process.pid
            if self._ready is None or self._ready.failed:  # failed: the next prepare() retries
                self._ready = process.call("prepare", (), "fetcher start-up")
            ready = self._ready
        if not ready.wait(self.start_timeout_s):
            self._retire(process, "did not start in time")
            raise SourceError(
                "unavailable", f"the fetcher did not start within {self.start_timeout_s:g} s"
            )
        if process.ready_after_s is None:
            process.ready_after_s = time.monotonic() - process.started
            self.last_start_s = process.ready_after_s
        ready.outcome()  # its SourceError (credentials, a missing library) as it was raised
        return process

    def _retire(self, process: FetcherProcess, why: str) -> None:
        """Kill ``process``; the next call starts a fresh one."""
        with self._lock:
            if self._process is process:
                self._process, self._ready = None, None
        process.kill(why)

    def _reap(self, timer: threading.Timer) -> None:
        """The grace passed unused: end the process; one still busy gets another grace."""
        with self._lock:
            process = self._process
            if process is None or self._closed or timer is not self._release_timer:
                return  # used again (or released again) since this timer was set
            busy = process.in_flight > 0  # an abandoned call: its deadline kills it anyway
            if not busy:
                self._process, self._ready, self._release_timer = None, None, None
        if busy:
            self.release()
        else:
            process.stop()
            stop_resource_tracker()


def detect_project(timeout_s: float = START_TIMEOUT_S) -> str | None:
    """The project of Application Default Credentials, or None; found in a short-lived
    process, so google.auth never loads in this one. Set NO_GCE_CHECK=true first when the
    metadata server must not be probed (the child inherits the environment)."""
    context = multiprocessing.get_context("spawn")
    reader, writer = context.Pipe(duplex=False)
    process = context.Process(
        target=report_project, args=(writer,), name="quota-detect-project", daemon=True
    )
    process.start()
    writer.close()
    try:
        found = reader.recv() if reader.poll(timeout_s) else None
    except (EOFError, OSError):
        found = None
    finally:
        reader.close()
        process.join(1.0)
        if process.is_alive():
            process.kill()
            process.join(1.0)
        stop_resource_tracker()
    return found if isinstance(found, str) and found else None
