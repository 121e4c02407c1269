"""Enrichments: what the warmer asks besides the quota checks, each call in a lane of its own.

Usage from Cloud Monitoring, capacity advice from Compute and the project's quota requests add
to an answer; they never make it. A failure of one fails no check, never turns a cycle 💥 and
never stops another enrichment. They are asked at a round's end, once its checks are known
(capacity advice follows the verdicts, usage the limits it completes), all at once, each within
the fetch deadline, before the round is declared: so the answer a round declares holds them,
and the fetcher is released after them. What already answered this cycle is not asked again;
what failed is asked again at the next round (a retry, or the next cycle). An answer for a
round that is gone is dropped. Standard library only, like the warmer.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from trayapp.cache import now_iso
from trayapp.sources.base import SourceError, internal_error, log_internal
from trayapp.warming.batch import requests_sent
from trayapp.warming.events import WarmEvent
from trayapp.warming.extra_state import Outcome

if TYPE_CHECKING:
    from trayapp.warming.engine import Engine
    from trayapp.warming.state import WarmState

UNAVAILABLE_KINDS = frozenset({"not_offered"})


@dataclass(frozen=True)
class Told:
    """Something an enrichment's answer tells people: an event kind, its log words, its data
    (``reread``: the checks should be read again at once, e.g. after a grant)."""

    kind: WarmEvent
    message: str
    data: dict[str, Any] = field(default_factory=dict)


class Enrichment(Protocol):
    """One kind of enrichment: which calls are due, how to make one, what its answer changes."""

    name: str  # "usage", "capacity", "preferences": the first part of each key
    api: str  # the API it asks: "cloudquotas", "monitoring" or "compute"

    def keys(self, state: WarmState, project: str) -> list[str]:
        """The calls this project needs now, given what the checks answered."""

    def ask(self, source: Any, project: str, key: str) -> Any:
        """Make the call (in the fetcher process, through ``source``)."""

    def describe(self, project: str, key: str) -> str:
        """``proj/usage of Vertex AI training quotas``: where, for messages."""

    def apply(
        self, state: WarmState, project: str, key: str, answer: Any, fetched_at: str
    ) -> list[Told]:
        """Put the answer into the state (under the engine's lock); what it tells people."""


class Tail:
    """Runs a round's enrichment calls at its end; ``emit`` tells what they brought."""

    def __init__(
        self,
        engine: Engine,
        source: Any,
        enrichments: Sequence[Enrichment],
        emit: Callable[..., None],
    ) -> None:
        self._engine, self._source, self._emit = engine, source, emit
        self.enrichments = list(enrichments)
        self._noticed: set[tuple[str, str, str | None]] = set()  # (project, lane, kind): once

    def run(self, number: int) -> None:
        """Ask every due call of round ``number``, wait for each within the fetch deadline,
        then apply what came (unless the round is gone) and tell it."""
        e = self._engine
        with e.lock:
            if e.stopping or number != e.round.number or not self.enrichments:
                return
            cycle = e.state.cycle.id
            due = [
                (enrichment, project, key)
                for project in e.plan.projects
                for enrichment in self.enrichments
                if not (enrichment.api == "cloudquotas" and project in e.quota_calls.refused)
                for key in enrichment.keys(e.state, project)
                if not _answered(e.state.extras.outcome(project, key), cycle)
            ]  # a project Cloud Quotas refused this round: its checks say why, no call repeats it
            deadline_s = e.timing.fetch_deadline_s
        if not due:
            return
        sent_before = requests_sent(self._source)
        futures = [self._start(enrichment, project, key) for enrichment, project, key in due]
        ends = time.monotonic() + deadline_s
        results = [
            _wait(future, ends, enrichment.describe(project, key), deadline_s)
            for (enrichment, project, key), future in zip(due, futures, strict=True)
        ]
        sent_after = requests_sent(self._source)
        sent = sent_after - sent_before if sent_before is not None and sent_after else 0
        told = self._apply(number, cycle, due, results, sent)
        for item in told:
            self._emit(item.kind, message=item.message, data=item.data, snapshot=True)

    def _start(self, enrichment: Enrichment, project: str, key: str) -> Future[Any]:
        future: Future[Any] = Future()

        def call() -> None:
            try:
                future.set_result(enrichment.ask(self._source, project, key))
            except BaseException as exc:  # handed to the waiting tail, which says it
                future.set_exception(exc)

        threading.Thread(target=call, daemon=True, name=f"quota-extra-{enrichment.name}").start()
        return future

    def _apply(
        self,
        number: int,
        cycle: int,
        due: list[tuple[Enrichment, str, str]],
        results: list[tuple[Any, SourceError | None]],
        sent: int,
    ) -> list[Told]:
        e = self._engine
        told: list[Told] = []
        with e.lock:
            if e.stopping or number != e.round.number:
                return []  # a reload or a re-warm replaced the round: its answers are dropped
            e.round.extra_calls += sent  # counted apart from the checks' "API calls"
            state = e.state
            for (enrichment, project, key), (answer, failure) in zip(due, results, strict=True):
                before = state.extras.outcome(project, key)
                error = failure
                if error is None:
                    try:
                        fetched = now_iso()
                        told += enrichment.apply(state, project, key, answer, fetched)
                    except Exception as exc:  # a bug of ours: this call fails, said as itself
                        error = _internal(enrichment.describe(project, key), exc)
                    else:
                        state.extras.record(project, key, Outcome("ok", fetched, cycle=cycle))
                        e.reread = e.reread or any(t.data.get("reread") for t in told)
                        continue
                status = "unavailable" if error.kind in UNAVAILABLE_KINDS else "error"
                fetched_at = before.fetched_at if before else None
                state.extras.record(
                    project, key, Outcome(status, fetched_at, error.message, error.kind)
                )
                checks_failing = any(
                    s.error for c, s in state.checks.items() if c.project == project
                )
                told += [] if checks_failing else self._notice(project, enrichment.name, error)
        return told

    def _notice(self, project: str, lane: str, error: SourceError) -> list[Told]:
        """One notice per project, lane and kind of failure in a run: what is missing and why.
        Not while the project's own checks fail: theirs is the failure told (often the same
        cause: a disabled API, a missing quota project), and the extras are said after."""
        said = (project, lane, error.kind)
        if said in self._noticed:
            return []
        self._noticed.add(said)
        return [Told(WarmEvent.NOTICE, error.message, {"lane": lane, "error_kind": error.kind})]


def _answered(outcome: Outcome | None, cycle: int) -> bool:
    return outcome is not None and outcome.status == "ok" and outcome.cycle == cycle


def _wait(
    future: Future[Any], ends: float, where: str, deadline_s: float
) -> tuple[Any, SourceError | None]:
    """The answer, or why there is none (a call past the deadline is left to finish alone)."""
    try:
        return future.result(timeout=max(0.0, ends - time.monotonic())), None
    except SourceError as exc:
        return None, exc.with_traceback(None)
    except Exception as exc:
        if future.done():
            return None, _internal(where, exc)
        return None, SourceError(
            "timeout", f"{where}: timed out, no answer within {deadline_s:g} s"
        )


def _internal(where: str, exc: Exception) -> SourceError:
    error = internal_error(where, exc)
    log_internal(error)
    return error
