"""The batch thread of the warmer: one tick's calls, concurrent, each within the deadline.

A call is a region's ``regions.get`` or a project's GPU family quota (``FAMILY_CALL``); its
answer is applied the moment it arrives, under the warmer's lock, and only if the call still
belongs to the current round.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any

from trayapp.cache import now_iso
from trayapp.sources.base import QuotaSource, SourceError
from trayapp.warming.batch import FAMILY_CALL, Batch, Region
from trayapp.warming.family_step import FamilyStep

if TYPE_CHECKING:
    from trayapp.warming.rounds import Round
    from trayapp.warming.state import WarmState


class BatchRunner:
    """The warmer's batch-thread half; ``Warmer`` provides the state it reads."""

    source: QuotaSource
    state: WarmState
    fetch_deadline_s: float
    _lock: threading.Lock
    _round: Round
    _stopping: bool
    _families: FamilyStep
    _family_source: bool

    _finish: Callable[[Batch], None]  # the warmer's: records what the batch brought

    def _run_batch(self, batch: Batch) -> None:
        try:
            self.source.prepare()  # a no-op once done; retried after a credentials failure
        except SourceError as exc:
            batch.fatal = exc
            self._finish(batch)
            return
        started = time.perf_counter()
        deadline = started + self.fetch_deadline_s
        pending = [(key, self._fetch(key)) for key in batch.regions]
        for key, future in pending:
            try:
                future.result(timeout=max(0.0, deadline - time.perf_counter()))
            except SourceError as exc:
                batch.failures[key] = exc.with_traceback(None)  # no frame kept: no cycle
            except Exception as other:
                where = f"{key[0]}/{key[1]}"
                if not future.done():  # past the deadline: the region timed out, move on
                    self._abandon(key, future)
                    batch.failures[key] = SourceError(
                        "timeout",
                        f"{where}: timed out, no complete answer within "
                        f"{self.fetch_deadline_s:g} s",
                    )
                else:
                    batch.failures[key] = SourceError(
                        "bad_response", f"{where}: unexpected {type(other).__name__}"
                    )
        batch.elapsed_ms = round((time.perf_counter() - started) * 1000)
        self._finish(batch)

    def _fetch(self, key: Region) -> Future[Any]:
        future: Future[Any] = Future()
        with self._lock:
            self._round.started_fetch(key, future)
            number = self._round.number
        threading.Thread(  # the round's number, not the round: a failure's traceback keeps
            target=self._do_fetch,  # this frame alive until collected, and the round with it
            args=(key, future, number),
            daemon=True,
            name=f"quota-fetch-{key[1]}",
        ).start()
        return future

    def _do_fetch(self, key: Region, future: Future[Any], number: int) -> None:
        project, region = key
        try:
            if region == FAMILY_CALL:
                answer: Any = self.source.fetch_families(project)
            else:
                answer = self.source.fetch(project, region)
        except BaseException as exc:  # handed to the batch, which reports it
            future.set_exception(exc)
            return
        with self._lock:  # the answer fills every open check it answers, now
            round_ = self._round
            if round_.number == number and round_.current(key, future) and not self._stopping:
                if region == FAMILY_CALL:
                    self._families.answered(self.state, project, answer)
                else:
                    filled = self.state.apply_region(project, region, answer, now_iso())
                    if self._family_source:
                        self._families.after_region(self.state, filled)
        future.set_result(answer)

    def _abandon(self, key: Region, future: Future[Any]) -> None:
        with self._lock:
            self._round.abandon(key, future)  # a late answer is dropped; a retry asks again
