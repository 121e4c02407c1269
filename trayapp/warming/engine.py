"""What the scheduler and its collaborators share: one object, read and written under its lock.

The scheduler (``scheduler.Warmer``) owns it; the batch runner and the round's end are handed it
at construction. Standard library only, like the rest of the engine.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from typing import Any, Protocol

from trayapp.cache import Snapshot
from trayapp.warming.batch import Batch
from trayapp.warming.events import WarmEvent
from trayapp.warming.failures import Failures
from trayapp.warming.levels import Level, Thresholds
from trayapp.warming.plan import Plan, QuotaCheck
from trayapp.warming.quota_calls import QuotaCalls
from trayapp.warming.rounds import Round
from trayapp.warming.schedule import RetryBackoff
from trayapp.warming.state import WarmState


class Emit(Protocol):
    """Tells the observers one event (the scheduler's ``_emit``)."""

    def __call__(self, kind: WarmEvent, *, snapshot: bool = False, **fields: Any) -> None: ...


@dataclass
class Timing:
    """The settings a reload may change while warming goes on."""

    interval_s: float = 2.0
    rewarm_s: float = 1800.0
    thresholds: Thresholds = field(default_factory=Thresholds)
    fetch_deadline_s: float = 10.0


@dataclass(eq=False)
class Engine:
    """The engine's state: the plan, what is known, the round in progress and its memory of
    failures. Every field is read and written under ``lock``."""

    plan: Plan
    state: WarmState
    timing: Timing
    failures: Failures
    retry: RetryBackoff
    max_attempts: int = 3
    lock: threading.Lock = field(default_factory=threading.Lock)
    round: Round = field(init=False)
    quota_calls: QuotaCalls = field(init=False)
    stopping: bool = False
    retries: int = 0  # retry rounds of this cycle
    once: bool = False  # `run --once`: the first cycle's end is the run's end, no retry follows
    reread: bool = False  # an enrichment asks for the checks again at once (a quota was granted)
    level: Level | None = None
    last_batch_ms: int | None = None

    def __post_init__(self) -> None:
        self.round = Round(0, 0.0, (), (), self.max_attempts)  # a cycle, or a retry of it
        # every Cloud Quotas call's failures and retries, and the family quota's held checks
        self.quota_calls = QuotaCalls(self.max_attempts)

    def new_round(
        self, now: float, gpu: tuple[QuotaCheck, ...], c3: tuple[QuotaCheck, ...]
    ) -> None:
        """A fresh pass over ``gpu`` and ``c3``: attempts, family calls and back-off start over."""
        self.round = Round(self.round.number + 1, now, gpu, c3, self.max_attempts)
        self.quota_calls.new_round()
        self.failures.backoff_until = 0.0

    def start_cycle(self, now: float) -> None:
        """Every check is open again; known values stay readable until replaced."""
        self.state.new_cycle(now)
        self.quota_calls.new_cycle()
        self.new_round(now, self.plan.gpu + self.plan.extra, self.plan.c3)
        self.retry.reset()
        self.retries = 0
        self.reread = False
        self.failures.new_cycle(self.state)

    def next_batch(self) -> Batch:
        """A family call when one is due (a batch of its own), else 1 GPU + 1 C3 check."""
        calls = self.quota_calls
        queued = bool(self.round.gpu or self.round.c3)
        family = calls.due(self.round.picks, queued)
        if family is not None:
            calls.started(family)
            return Batch(calls.waiting(family), self.round.number, family=family)
        open_ = self.state.done | calls.held  # held checks were answered by a region
        return Batch(self.round.pick(open_), self.round.number)

    def max_age_s(self) -> float:
        """How old an answer may be and still count as fresh: the re-warm period plus the
        time a cycle takes to come round to it again (so no value is stale at each re-warm)."""
        ticks = max(len(self.plan.gpu), len(self.plan.c3))
        timing = self.timing
        return round(timing.rewarm_s + max(300.0, 2 * ticks * timing.interval_s), 1)

    def warmer_info(self, paused: bool) -> dict[str, Any]:
        """The cache document's ``warmer`` block: who writes it, and how warming goes."""
        return {
            "pid": os.getpid(),
            "level": self.level.value if self.level else None,
            "last_batch_ms": self.last_batch_ms,
            "paused": paused,
            "max_age_s": self.max_age_s(),
        }

    def replace_plan(self, plan: Plan, warmer: dict[str, Any]) -> bool:
        """Take a reloaded plan, keeping every value already known; False when unchanged."""
        if plan == self.plan:
            return False
        old = Snapshot(self.state.document(warmer))
        state = WarmState(plan)
        state.continue_from(self.state)
        state.seed(old)
        self.plan, self.state = plan, state
        self.failures.missing.clear()
        # the calls in flight belong to the old plan: their answers are dropped (the round they
        # started in is over), and the new cycle that a changed plan starts asks again
        self.round = Round(self.round.number + 1, self.round.started, (), (), self.max_attempts)
        self.quota_calls.new_cycle()
        return True
