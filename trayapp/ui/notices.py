"""Which warmer events deserve a desktop notification, decided without threads or I/O.

The rules are plain logic over events and an injectable clock, so they are unit-tested
without a desktop; :mod:`trayapp.ui.notify` delivers what they decide. No credential text ever
reaches a notification: messages pass through :func:`redact`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from trayapp import answers, words
from trayapp.safety.secrets import redact
from trayapp.warming.events import Event, WarmEvent
from trayapp.warming.levels import Level, phrase

APP_NAME = "quota-tray"
SLOW_NOTICE_INTERVAL_S = 600.0  # "too slow" at most once per 10 minutes


REASONS_CHARS = 360  # the reasons of one failure notification, all counted, within this
LAUNCH_LINES = 3  # the launches a warming-complete notification names, then how many more


# --- the decision -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Notice:
    """One notification to show: ``state`` names the icon (see ``trayapp.ui.icons``)."""

    kind: str  # "complete" | "too_slow" | "error" | "recovered" | "watch" | "told"
    title: str
    message: str
    state: str


def _failures(event: Event) -> int:
    """Failed checks: a count on COMPLETE, the failed checks' names on a batch."""
    failed = event.data.get("failed") or 0
    if isinstance(failed, list | tuple):
        return len(failed)
    try:
        return int(failed)
    except (TypeError, ValueError):
        return 0


class NotificationPolicy:
    """Which events notify. Pure: no threads, no I/O; time comes from ``clock``.

    Rules:
    * "complete" after the first cycle since start-up and after a forced re-warm; a periodic
      re-warm completes silently unless its cycle had trouble (failed or slow batches);
    * "too slow" for a batch at level SLOW, at most once per cycle and once per
      ``slow_interval_s``;
    * a cycle that ends with failed checks: one "💥 Quota warming incomplete" (or "failed",
      when nothing succeeded) naming every distinct reason with its count of checks (as many as
      fit), never a ✅ notice for it; a cycle whose answers could not be written to the cache
      file: one "💥 Quota cache not written" saying where and why; the same reasons again (a
      retry that fails alike) are not news; when a cycle completes again, one "back to normal".
    """

    def __init__(
        self,
        *,
        tone: str = "plain",
        slow_interval_s: float = SLOW_NOTICE_INTERVAL_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.tone = tone
        self.slow_interval_s = slow_interval_s
        self._clock = clock
        self._cycle_reason = "startup"
        self._slow_batches = 0
        self._failed_batches = 0
        self._slow_noticed_cycle: int | None = None
        self._last_slow_notice: float | None = None
        self._error: str | None = None  # what the last failure notification said, as a key

    @property
    def error_active(self) -> bool:
        """Whether an error notification was shown and has not cleared yet."""
        return self._error is not None

    def decide(self, event: Event) -> list[Notice]:
        """The notifications ``event`` calls for (usually none)."""
        kind = event.kind
        if kind is WarmEvent.START:
            self._new_cycle("startup")
        elif kind is WarmEvent.REWARM:
            reason = str(event.data.get("reason", "periodic"))
            self._new_cycle("forced" if reason == "forced" else "periodic")
        elif kind is WarmEvent.BATCH_FAIL:
            self._failed_batches += 1
        elif kind in (WarmEvent.BATCH_WARM, WarmEvent.BATCH_SLOW):
            return self._batch(event)
        elif kind is WarmEvent.COMPLETE:
            return self._complete(event)
        elif kind is WarmEvent.INCOMPLETE:
            return self._incomplete(event)
        elif kind in (WarmEvent.REQUEST, WarmEvent.CAPACITY):  # told once, by the warmer
            return told_notice(event, self.tone)
        elif kind is WarmEvent.CONFIG_REJECTED:  # warming goes on with the old settings
            message = redact(event.message) or "config not reloaded"
            return [Notice("error", "⚠️ Config not reloaded", message, "warn")]
        return []

    def _new_cycle(self, reason: str) -> None:
        self._cycle_reason = reason
        self._slow_batches = 0
        self._failed_batches = 0

    def _batch(self, event: Event) -> list[Notice]:
        if event.kind is not WarmEvent.BATCH_SLOW or event.level is not Level.SLOW:
            return []
        self._slow_batches += 1
        now = self._clock()
        recent = (
            self._last_slow_notice is not None
            and now - self._last_slow_notice < self.slow_interval_s
        )
        if self._slow_noticed_cycle == event.cycle or recent:
            return []
        self._slow_noticed_cycle = event.cycle
        self._last_slow_notice = now
        return [self._too_slow(event)]

    def _too_slow(self, event: Event) -> Notice:
        took = f"{event.elapsed_ms} ms" if event.elapsed_ms is not None else "over the limit"
        if self.tone == "plain":  # the original design's toast: "Cache warming slow: 3404ms"
            message = f"Cache warming slow: {took} ({event.progress})."
        else:
            message = f"{phrase(Level.SLOW, self.tone)} Batch took {took} ({event.progress})."
        return Notice("too_slow", f"{Level.SLOW.icon} Quota API too slow", message, "slow")

    def _complete(self, event: Event) -> list[Notice]:
        reason = self._cycle_reason
        slow, failed = self._slow_batches, self._failed_batches
        trouble = failed > 0 or slow > 0
        # The next COMPLETE without a REWARM in between would be a new cycle of the same kind.
        self._new_cycle("periodic")
        progress = event.progress
        summary = f"{progress.done}/{progress.total} checks warm"
        took = words.duration(event.data.get("duration_s"))
        if took:
            summary += f" in {took}"
        details = []
        if failed:
            details.append(f"{failed} failed batch{'es' if failed != 1 else ''}, retried")
        if slow:
            details.append(f"{slow} slow batch{'es' if slow != 1 else ''}")
        if details:
            summary += " · " + ", ".join(details)
        if self._error is not None:
            return self._recovered(summary)
        if reason in {"startup", "forced"} or trouble:
            title = {
                "startup": "Quota cache warm",
                "forced": "Re-warm done",
                "periodic": "Re-warm done with trouble",
            }[reason]
            launches = launch_lines(event)
            message = "\n".join([summary + ".", *launches, *best_free_lines(event)])
            return [Notice("complete", f"{Level.COMPLETE.icon} {title}", message, "complete")]
        return []

    def _incomplete(self, event: Event) -> list[Notice]:
        self._new_cycle("periodic")
        failed = _failures(event)
        total = int(event.data.get("checks") or event.progress.total)
        counted = reason_counts(event)
        unwritten = event.data.get("unwritten")
        unwritten = redact(str(unwritten)).rstrip(".") if unwritten else None
        # a retry that failed alike (the same reasons, whatever their counts) is not news
        key = "\n".join([str(unwritten), *sorted(reason for reason, _ in counted)])
        if key == self._error:
            return []
        self._error = key
        retry = words.duration(event.data.get("retry_in_s"))
        then = f" Retrying in {retry}." if retry else " Not retried: check the config."
        if unwritten:  # the product's output is the cache file: that first, where and why
            message = f"The answers could not be written: {unwritten}."
            if failed:
                message += f" Also {failed_text(failed, total, counted)}."
            title = f"{Level.ERROR.icon} Quota cache not written"
            return [Notice("error", title, message + then, "error")]
        word = "failed" if failed >= total else "incomplete"
        message = f"{failed_text(failed, total, counted)}." + then
        return [Notice("error", f"{Level.ERROR.icon} Quota warming {word}", message, "error")]

    def _recovered(self, summary: str) -> list[Notice]:
        self._error = None
        message = f"Quota checks succeed again: {summary}."
        return [Notice("recovered", f"{Level.COMPLETE.icon} Back to normal", message, "complete")]


def reason_counts(event: Event) -> list[tuple[str, int | None]]:
    """Each distinct reason of a failed cycle with how many checks it failed, most first
    (``None`` when the event does not count them), redacted and without a final stop."""
    pairs = event.data.get("reason_counts") or [(r, None) for r in event.data.get("reasons") or ()]
    found = [(redact(str(reason), 160).rstrip("."), n) for reason, n in pairs]
    return found or [("unknown error", None)]


def failed_text(failed: int, total: int, counted: list[tuple[str, int | None]]) -> str:
    """``3 of 38 checks failed: <reason>``; with several reasons, each counted, as many as fit
    in REASONS_CHARS, then how many more: ``15 of 38 checks failed, 2 reasons: <A> (12
    checks); <B> (3 checks)``."""
    head = f"{failed} of {total} checks failed"
    if len(counted) == 1:
        return f"{head}: {counted[0][0]}"
    parts: list[str] = []
    for reason, n in counted:
        part = reason if n is None else f"{reason} ({n} check{'s' if n != 1 else ''})"
        if parts and sum(len(p) + 2 for p in parts) + len(part) > REASONS_CHARS:
            break
        parts.append(part)
    more = len(counted) - len(parts)
    tail = f"; {more} more" if more else ""
    return f"{head}, {len(counted)} reasons: " + "; ".join(parts) + tail


# --- the answer, in a notification ------------------------------------------------------------


def best_free_lines(event: Event) -> list[str]:
    """Per GPU type, the region with the most free (``H100: 8 free in us-west1``), read from
    the cache document the event carries."""
    if not event.snapshot:
        return []
    checks = answers.document_checks(event.snapshot)
    return [
        redact(answers.best_sentence(metric, checks), 80)
        for metric in answers.metrics_in_order(checks, "gpu")
    ]


def launch_lines(event: Event) -> list[str]:
    """Per ``[[launch]]``, what fits (``a3-highgpu-8g x1: fits in us-east4``), at most
    LAUNCH_LINES; none without launches."""
    if not event.snapshot:
        return []
    from trayapp.launch import board

    judged = board.judge_document(event.snapshot)
    return [redact(line, 160) for line in board.lines(judged, LAUNCH_LINES)]


def told_notice(event: Event, tone: str) -> list[Notice]:
    """A quota request decided, or a launch now likely: ``Quota granted`` over what and where
    (the log's words in the spicy tone); nothing for a request still under review."""
    plain = str(event.data.get("plain") or "")
    title, _, body = plain.partition(": ")
    title = f"{event.message.partition(' ')[0]} {title}"  # the log line's 🎉, 🚫 or 🟢
    good = event.kind is WarmEvent.CAPACITY or event.data.get("state") == "granted"
    body = event.message if tone == "spicy" else body
    return (
        [Notice("told", redact(title, 80), redact(body), "complete" if good else "error")]
        if plain
        else []
    )


def watch_notice(group: list) -> Notice:
    """One notification for a watch rule's newly met regions (``🎯 8 × H100 free in us-west1``);
    ``group`` holds :class:`trayapp.watch.Hit` of one rule."""
    from trayapp.watch import alert_text

    title, body = alert_text(group)
    lines = [redact(line, 120) for line in body.splitlines()[:8]]
    return Notice("watch", redact(title, 120), "\n".join(lines), "complete")
