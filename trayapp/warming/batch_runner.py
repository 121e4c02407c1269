"""The batch thread of the warmer: one tick's calls, concurrent, each within the deadline.

A call is a region's ``regions.get`` or a Cloud Quotas QuotaInfo (``calls``: a GPU type's Vertex
AI quota, the Cloud Build list, a project's GPU family quota); its answer fills every open check
it answers the moment it arrives, under the warmer's lock, and only if the call still belongs
to the current round.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

from trayapp.sources.base import QuotaSource, SourceError, internal_error, log_internal
from trayapp.warming import calls
from trayapp.warming.batch import Batch, Region, requests_sent
from trayapp.warming.engine import Engine
from trayapp.warming.quota_calls import apply_answer


class BatchRunner:
    """Runs one batch on the calling thread; ``finish`` receives it with what it brought."""

    def __init__(
        self, engine: Engine, source: QuotaSource, finish: Callable[[Batch], None]
    ) -> None:
        self._engine, self._source, self._finish = engine, source, finish
        # a source that can answer Cloud Quotas (the Compute family step among them)
        self._family_source = callable(getattr(source, "fetch_quota", None))

    def run(self, batch: Batch) -> None:
        try:
            self._source.prepare()  # a no-op once done; retried after a credentials failure
        except SourceError as exc:
            batch.fatal = exc
            self._finish(batch)
            return
        sent_before = requests_sent(self._source)
        started = time.perf_counter()
        deadline_s = self._engine.timing.fetch_deadline_s
        deadline = started + deadline_s
        pending = [(key, self._fetch(key)) for key in batch.regions]
        for key, future in pending:
            try:
                future.result(timeout=max(0.0, deadline - time.perf_counter()))
            except SourceError as exc:
                batch.failures[key] = exc.with_traceback(None)  # no frame kept: no cycle
            except Exception as other:
                where = calls.describe(key)
                if not future.done():  # past the deadline: the region timed out, move on
                    self._abandon(key, future)
                    batch.failures[key] = SourceError(
                        "timeout",
                        f"{where}: timed out, no complete answer within {deadline_s:g} s",
                    )
                else:
                    batch.failures[key] = _internal(where, other)
        batch.elapsed_ms = round((time.perf_counter() - started) * 1000)
        sent_after = requests_sent(self._source)
        if sent_before is not None and sent_after is not None:  # "API calls": HTTP requests
            batch.requests = sent_after - sent_before
        self._finish(batch)

    def _fetch(self, key: Region) -> Future[Any]:
        future: Future[Any] = Future()
        engine = self._engine
        with engine.lock:
            engine.round.started_fetch(key, future)
            number = engine.round.number
        threading.Thread(  # the round's number, not the round: a failure's traceback keeps
            target=self._do_fetch,  # this frame alive until collected, and the round with it
            args=(key, future, number),
            daemon=True,
            name=f"quota-fetch-{key[1]}",
        ).start()
        return future

    def _do_fetch(self, key: Region, future: Future[Any], number: int) -> None:
        try:
            answer = calls.ask(self._source, key)
        except BaseException as exc:  # handed to the batch, which reports it
            future.set_exception(exc)
            return
        engine = self._engine
        try:
            with engine.lock:  # the answer fills every open check it answers, now
                round_ = engine.round
                if round_.number == number and round_.current(key, future) and not engine.stopping:
                    apply_answer(
                        engine.state,
                        engine.quota_calls,
                        key,
                        answer,
                        family_source=self._family_source,
                    )
        except Exception as exc:  # a bug of ours: this call fails now, said as itself
            future.set_exception(_internal(calls.describe(key), exc))
            return
        future.set_result(answer)

    def _abandon(self, key: Region, future: Future[Any]) -> None:
        with self._engine.lock:
            self._engine.round.abandon(key, future)  # a late answer is dropped; a retry asks again


def _internal(where: str, exc: Exception) -> SourceError:
    """A bug, not the API's doing: the call fails with its own reason at once, and the
    traceback goes to the log."""
    error = internal_error(where, exc)
    log_internal(error)
    return error
