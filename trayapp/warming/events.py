"""What the warmer tells the world, and the bus that carries it to observers.

Observers run on the warmer's threads: they must be quick and must never touch a UI
directly. One observer raising never stops the warmer or the others, and is never silenced.
"""

from __future__ import annotations

import enum
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from trayapp.warming.levels import Level

log = logging.getLogger(__name__)


class WarmEvent(enum.Enum):
    START = "start"  # warmer started; data: interval_s, rewarm_s, checks
    BATCH_WARM = "batch_warm"  # batch done below warn_ms
    BATCH_SLOW = "batch_slow"  # batch done at warn_ms or slower (level says how slow)
    BATCH_FAIL = "batch_fail"  # a check of the batch failed (it may be retried)
    COMPLETE = "complete"  # every check of the cycle fresh; data: totals
    INCOMPLETE = "incomplete"  # the cycle ended with failed checks; data: totals, reasons
    RETRY = "retry"  # failed checks are fetched again on their own; data: failed, regions
    REWARM = "rewarm"  # a new cycle began; data: reason ("periodic" | "forced")
    SKIP = "skip"  # ticks skipped; data: skipped, reason
    ERROR = "error"  # a failure that stops warming (credentials, permission)
    CANCELLED = "cancelled"  # stop() while warming
    FINAL_STATS = "final_stats"  # after stop(); data: the metrics summary
    PAUSED = "paused"  # pause()/resume(); data: paused
    CONFIG_REJECTED = "config_rejected"  # a reload was refused; warming goes on unchanged
    CONFIG_RELOADED = "config_reloaded"  # a reload was applied; data: notes
    NOTICE = "notice"  # something to mend that stops nothing (message: what to do), once a run
    REQUEST = "request"  # a quota increase request changed state; message: the log's words,
    #   data: plain (a notification's words, "" for none), state, project
    CAPACITY = "capacity"  # a launch that fits quota became likely; message, data: plain, project


@dataclass(frozen=True)
class Progress:
    gpu_done: int
    gpu_total: int
    c3_done: int
    c3_total: int

    @property
    def done(self) -> int:
        return self.gpu_done + self.c3_done

    @property
    def total(self) -> int:
        return self.gpu_total + self.c3_total

    def __str__(self) -> str:
        return f"GPU {self.gpu_done}/{self.gpu_total}, C3 {self.c3_done}/{self.c3_total}"


@dataclass(frozen=True)
class Event:
    kind: WarmEvent
    cycle: int
    progress: Progress
    at: float = field(default_factory=time.time)
    elapsed_ms: int | None = None
    level: Level | None = None
    message: str = ""
    error_kind: str | None = None
    data: Mapping[str, Any] = field(default_factory=dict)
    snapshot: Mapping[str, Any] | None = None  # the cache document after this event


class Observer(Protocol):
    def on_event(self, event: Event) -> None: ...


class Output(Protocol):
    """Where the answers must arrive: the cache file, written by an observer of the bus. A
    round is complete only when its answers got there; the warmer tries again at each tick."""

    failing: str | None  # why the latest write failed (one line naming the file), else None

    def retry(self) -> str | None:
        """Write again what could not be written: why it still fails, or None once it worked."""


class NullObserver:
    """An observer that does nothing, with the signature every observer has."""

    def on_event(self, event: Event) -> None:
        return None


class EventBus:
    """Delivers events to observers in subscription order, isolating their failures.

    A failing observer never stops the others, and is never silenced: its first failure is
    logged with its traceback, every later one as "still failing" (the log's rate limit keeps
    that to a line now and then), and :meth:`failing` says which observers fail right now, so
    the app can show it. One success clears an observer's record.
    """

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._observers: list[Observer] = []
        self._failing: dict[int, _Failing] = {}
        self._lock = threading.Lock()
        self._clock = clock

    def subscribe(self, observer: Observer) -> None:
        with self._lock:
            self._observers.append(observer)

    def emit(self, event: Event) -> None:
        with self._lock:
            observers = list(self._observers)
        for observer in observers:
            try:
                observer.on_event(event)
            except Exception as exc:
                self._failed(observer, event, exc)
            else:
                if self._failing:
                    self._succeeded(observer)

    def failing(self) -> list[str]:
        """One line per observer whose latest delivery failed, e.g. ``CacheWriter failed 12
        times since 10:02:03: OSError: ...``."""
        with self._lock:
            entries = list(self._failing.values())
        return [entry.line() for entry in entries]

    def _failed(self, observer: Observer, event: Event, exc: Exception) -> None:
        name = type(observer).__name__
        with self._lock:
            entry = self._failing.get(id(observer))
            first = entry is None
            if entry is None:
                entry = self._failing[id(observer)] = _Failing(name, self._clock())
            entry.count += 1
            entry.last = f"{type(exc).__name__}: {exc}"
            count = entry.count
        if first:
            log.exception("observer %s failed on %s", name, event.kind.name)
        else:
            log.error(
                "observer %s still failing (%d times, latest on %s): %s",
                *(name, count, event.kind.name, entry.last),
            )

    def _succeeded(self, observer: Observer) -> None:
        with self._lock:
            entry = self._failing.pop(id(observer), None)
        if entry is not None:
            log.warning("observer %s works again after %d failures", entry.name, entry.count)


@dataclass
class _Failing:
    name: str
    since: float
    count: int = 0
    last: str = ""

    def line(self) -> str:
        since = time.strftime("%H:%M:%S", time.localtime(self.since))
        return f"{self.name} failed {self.count} times since {since}: {self.last}"
