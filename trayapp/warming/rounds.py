"""One pass over checks, a whole cycle or a retry of its failed checks: what is left to ask,
and how many times each region has been asked."""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Iterable, Sequence
from concurrent.futures import Future
from typing import Any

from trayapp.warming.batch import Region
from trayapp.warming.plan import QuotaCheck


class Round:
    """The queues of open checks and the per-region attempts of one pass. A fetch belongs to
    the round that started it: an answer arriving after its round ended (or after its deadline)
    finds ``current(key, future)`` false and is dropped."""

    def __init__(
        self,
        number: int,
        started: float,
        gpu: Iterable[QuotaCheck],
        c3: Iterable[QuotaCheck],
        max_attempts: int = 3,
    ) -> None:
        self.number, self.started, self.max_attempts = number, started, max_attempts
        self.gpu: deque[QuotaCheck] = deque(gpu)
        self.c3: deque[QuotaCheck] = deque(c3)
        self.attempts: Counter[Region] = Counter()
        self.fetches: dict[Region, Future[Any]] = {}
        self.calls = 0  # HTTP requests made by the round's batches (see Batch.api_calls)
        self.extra_calls = 0  # ...and by its enrichments, counted apart (``extras``)
        self.picks = 0  # ticks that took checks from the queues

    def pick(self, done: set[QuotaCheck]) -> list[QuotaCheck]:
        """The next open GPU check and the next open C3 check (answered ones are skipped)."""
        picked: list[QuotaCheck] = []
        self.picks += 1
        for queue in (self.gpu, self.c3):
            while queue:
                check = queue.popleft()
                if check not in done:
                    picked.append(check)
                    break
        return picked

    def started_fetch(self, key: Region, future: Future[Any]) -> None:
        self.fetches[key] = future

    def current(self, key: Region, future: Future[Any]) -> bool:
        return self.fetches.get(key) is future

    def abandon(self, key: Region, future: Future[Any]) -> None:
        if self.fetches.get(key) is future:
            del self.fetches[key]

    def failed_attempt(self, key: Region, checks: Sequence[QuotaCheck]) -> bool:
        """Count a failed attempt of ``key``; True when it was the last one of its budget,
        else ``checks`` (every open check of that call) go to the back of their queues, so the
        call is asked again only after the checks queued before it: a region's or a Cloud
        Quotas call's retries are spaced alike."""
        self.attempts[key] += 1
        if self.attempts[key] >= self.max_attempts:
            return True
        moved = set(checks)
        for queue in (self.gpu, self.c3):
            kept = [c for c in queue if c not in moved]
            queue.clear()
            queue.extend(kept)
        for check in checks:
            (self.c3 if check.kind == "c3" else self.gpu).append(check)
        return False
