"""A scriptable in-memory QuotaSource for scheduling logic (the real path has its own tests)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from trayapp.sources.base import RegionQuotas, SourceError
from trayapp.warming.events import Event, WarmEvent


class FakeSource:
    def __init__(self, delay_s: float = 0.0) -> None:
        self.delay_s = delay_s
        self.calls: list[tuple[float, str, str]] = []
        self.fail: dict[str, list[SourceError]] = {}  # region -> errors raised in turn
        self.hang = threading.Event()  # set: fetches block until released
        self.unblock = threading.Event()
        self.prepare_error: SourceError | None = None
        self.prepared = 0
        self.released = 0
        self._lock = threading.Lock()

    def prepare(self) -> None:
        self.prepared += 1
        if self.prepare_error is not None:
            raise self.prepare_error

    def fetch(self, project: str, region: str) -> RegionQuotas:
        with self._lock:
            self.calls.append((time.monotonic(), project, region))
            errors = self.fail.get(region)
            error = errors.pop(0) if errors else None
        if self.hang.is_set():
            self.unblock.wait(30)
        if self.delay_s:
            time.sleep(self.delay_s)
        if error is not None:
            raise error
        return {"NVIDIA_T4_GPUS": (8.0, 1.0), "C3_CPUS": (200.0, 24.0)}

    def release(self) -> None:
        self.released += 1

    def close(self) -> None:
        self.unblock.set()


class Recorder:
    """Observer keeping every event, with a way to wait for one."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self._cond = threading.Condition()

    def on_event(self, event: Event) -> None:
        with self._cond:
            self.events.append(event)
            self._cond.notify_all()

    def kinds(self) -> list[WarmEvent]:
        with self._cond:
            return [e.kind for e in self.events]

    def wait_for(self, pred: Callable[[list[Event]], bool], timeout: float = 10.0) -> list[Event]:
        with self._cond:
            if not self._cond.wait_for(lambda: pred(self.events), timeout):
                raise AssertionError(f"condition not met in {timeout}s; saw {self.kinds()}")
            return list(self.events)

    def count(self, kind: WarmEvent) -> Callable[[list[Event]], int]:
        return lambda events: sum(e.kind is kind for e in events)
