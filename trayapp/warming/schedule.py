"""When the warmer acts: drift-free ticks, and the back-off of retries after a failed cycle.

Both take the time as an argument, so schedules are tested with a fake clock, not by waiting.
"""

from __future__ import annotations

import time
from collections.abc import Callable

Clock = Callable[[], float]

if hasattr(time, "CLOCK_BOOTTIME"):

    def default_clock() -> float:
        """Monotonic and counting suspend, so a laptop's sleep counts toward re-warm."""
        return time.clock_gettime(time.CLOCK_BOOTTIME)

else:  # macOS, Windows: the wall-clock age of a cycle covers sleep there (Warmer._overdue_s)
    default_clock = time.monotonic


class TickSchedule:
    """Tick n is due at ``start + n * interval``: computed from the start, never by adding
    intervals to the last tick, so slow ticks cause no drift; ticks missed while one ran long
    are skipped, not run in a burst."""

    def __init__(self, interval_s: float, now: float) -> None:
        self.interval_s = interval_s
        self.start = now
        self.n = 0

    def delay(self, now: float) -> float:
        """Seconds until the next tick is due (0 when it is due already)."""
        return max(0.0, self.start + self.n * self.interval_s - now)

    def ticked(self, now: float) -> None:
        """A tick ran and ended at ``now``: the next one is the first still in the future."""
        self.n = max(self.n + 1, int((now - self.start) / self.interval_s) + 1)

    def restart(self, interval_s: float, now: float) -> None:
        """A new interval: a new schedule whose first tick is one interval from now."""
        self.interval_s, self.start, self.n = interval_s, now, 1


class RetryBackoff:
    """After a cycle that ended with failed checks: a first retry ``first_s`` later, then
    doubling, never longer than the re-warm period. Success resets it."""

    def __init__(self, first_s: float = 60.0) -> None:
        self.first_s = first_s
        self.delay_s: float | None = None
        self.due: float | None = None

    def failed(self, now: float, cap_s: float) -> float:
        """Schedule the next retry; returns its delay."""
        delay = self.first_s if self.delay_s is None else self.delay_s * 2
        self.delay_s = min(delay, cap_s)
        self.due = now + self.delay_s
        return self.delay_s

    def reset(self) -> None:
        self.delay_s = self.due = None

    def is_due(self, now: float) -> bool:
        return self.due is not None and now >= self.due

    def remaining(self, now: float) -> float | None:
        return None if self.due is None else max(0.0, self.due - now)
