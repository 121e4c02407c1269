"""One fetcher process, seen from the tray side: start it, send calls, collect answers, end it.

A reader thread takes the answers off the pipe and hands each to the call waiting for it. When
the process dies (killed, out of memory, crashed) the pipe ends, and every call still waiting
fails with an ``unavailable`` SourceError naming how it ended: only the calls in flight are
lost, and the owner starts a fresh process for the next one.
"""

from __future__ import annotations

import contextlib
import itertools
import signal
import threading
import time
from multiprocessing.connection import wait
from multiprocessing.context import SpawnContext
from typing import Any

from trayapp.sources.base import SourceError, log_internal
from trayapp.sources.fetcher.child import serve
from trayapp.sources.recipe import SourceRecipe

TERM_GRACE_S = 0.3  # after SIGTERM, before SIGKILL
_live: set[FetcherProcess] = set()  # started and not yet seen to end, in this process
_live_lock = threading.Lock()


class Call:
    """One call waiting for its answer; ``where`` prefixes the errors made on this side."""

    def __init__(self, where: str) -> None:
        self.where = where
        self._done = threading.Event()
        self._ok = False
        self._value: Any = None
        self.requests = 0  # HTTP requests the call sent, as the fetcher counted them

    def settle(self, ok: bool, value: Any, requests: int = 0) -> None:
        if not self._done.is_set():
            self._ok, self._value, self.requests = ok, value, requests
            self._done.set()

    def wait(self, timeout: float | None) -> bool:
        return self._done.wait(timeout)

    @property
    def done(self) -> bool:
        return self._done.is_set()

    @property
    def failed(self) -> bool:
        return self._done.is_set() and not self._ok

    def outcome(self) -> Any:
        """The answer, or the SourceError the fetcher reported, with its kind and message."""
        if not self._ok:
            kind, message, *trace = self._value
            error = SourceError(kind, message)
            if trace and trace[0]:
                error.trace = str(trace[0])
                log_internal(error)
            raise error
        return self._value


def _how_it_ended(exitcode: int | None) -> str:
    if exitcode is None:
        return "stopped answering"
    if exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = f"signal {-exitcode}"
        return f"was killed ({name})"
    return f"exited with status {exitcode}"


class FetcherProcess:
    """A spawned fetcher and its pipe. Thread-safe; ``kill()`` returns within about a second."""

    def __init__(self, recipe: SourceRecipe, context: SpawnContext) -> None:
        self.started = time.monotonic()
        self.ready_after_s: float | None = None  # start-up time, once its clients are built
        self._lock = threading.Lock()
        self._ids = itertools.count()
        self._pending: dict[int, Call] = {}
        self._ended: str | None = None  # why no call can be answered any more
        self._conn, child = context.Pipe()
        self.process = context.Process(
            target=serve, args=(child, recipe), name="quota-fetcher", daemon=True
        )
        with _live_lock:
            self.process.start()
            _live.add(self)
        child.close()
        self._reader = threading.Thread(target=self._read, name="quota-fetcher-reader", daemon=True)
        self._reader.start()

    @property
    def pid(self) -> int | None:
        return self.process.pid

    @property
    def alive(self) -> bool:
        with self._lock:
            return self._ended is None and self.process.is_alive()

    @property
    def in_flight(self) -> int:
        with self._lock:
            return len(self._pending)

    def call(self, method: str, args: tuple[Any, ...], where: str) -> Call:
        """Send one call; its answer (or the process's end) settles the returned Call."""
        call = Call(where)
        with self._lock:
            if self._ended is not None:
                call.settle(False, ("unavailable", f"{where}: the fetcher {self._ended}"))
                return call
            call_id = next(self._ids)
            self._pending[call_id] = call
            try:
                self._conn.send((call_id, method, args))
            except (OSError, ValueError) as exc:
                del self._pending[call_id]
                call.settle(False, ("unavailable", f"{where}: the fetcher is gone ({exc})"))
        return call

    def _read(self) -> None:
        while True:
            try:
                call_id, ok, value, requests = self._conn.recv()
            except (EOFError, OSError, ValueError, TypeError):
                break
            with self._lock:
                call = self._pending.pop(call_id, None)
            if call is not None:
                call.settle(ok, value, requests)
        self.process.join(1.0)  # the pipe ended: so did the process, or it soon will
        self._end(_how_it_ended(self.process.exitcode))
        self._forget()
        with self._lock:  # no send can be under way: _ended is set
            self._conn.close()

    def _end(self, why: str) -> None:
        with self._lock:
            if self._ended is None:
                self._ended = why
            pending, self._pending = list(self._pending.values()), {}
            why = self._ended
        for call in pending:
            call.settle(False, ("unavailable", f"{call.where}: the fetcher {why}"))

    def kill(self, why: str = "was stopped") -> None:
        """End the process now (SIGTERM, then SIGKILL); calls in flight fail with ``why``."""
        self._end(why)
        if self.process.is_alive():
            self.process.terminate()
            self.process.join(TERM_GRACE_S)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(TERM_GRACE_S)
        self._forget()

    def _forget(self) -> None:
        if _gone(self, 0):
            with _live_lock:
                _live.discard(self)

    def stop(self, grace_s: float = 2.0) -> None:
        """Ask the process to finish (it closes its clients), kill it if it does not."""
        with self._lock:
            idle = self._ended is None and not self._pending
            if idle:
                self._ended = "was ended after its round"
                with contextlib.suppress(OSError, ValueError):
                    self._conn.send(None)
        if idle:
            self.process.join(grace_s)
        self.kill("was ended after its round")


def stop_resource_tracker() -> None:
    """End multiprocessing's resource tracker once no child of ours runs.

    Spawning starts that tracker (a bare interpreter, ~10 MB) and leaves it running for the
    life of the app; the fetcher never shares semaphores or memory, so nothing needs tracking
    between cycles. The next spawn starts it again."""
    from multiprocessing import resource_tracker

    tracker = getattr(resource_tracker, "_resource_tracker", None)
    stop = getattr(tracker, "_stop", None)  # Python 3.11.7+, 3.12.1+; POSIX only
    with _live_lock:  # held: no fetcher starts (and takes the tracker's pipe) meanwhile
        for fetcher in list(_live):
            if _gone(fetcher, 3.0):
                _live.discard(fetcher)
        if stop is None or _live:  # a fetcher still holds the pipe: it would never end
            return
        with contextlib.suppress(Exception):
            stop()


def _gone(fetcher: FetcherProcess, timeout: float) -> bool:
    """True once the process has exited (its sentinel is ready), reaped or not: whatever
    thread calls waitpid first, the sentinel tells the same."""
    return bool(wait([fetcher.process.sentinel], timeout))
