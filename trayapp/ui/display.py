"""What the tray shows: an icon key and a one-line text, derived from the warmer's events."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from trayapp import answers, words
from trayapp.sources import quota_names
from trayapp.ui.notices import redact
from trayapp.warming.events import Event, WarmEvent
from trayapp.warming.levels import Level

log = logging.getLogger(__name__)

APP_NAME = "quota-tray"
DEFAULT_XORG_BACKGROUND = (0x33, 0x33, 0x33)
ERROR_ICON = "💥"
PAUSED_ICON = "⏸️"
REWARM_ICON = "🔄"
RETRY_ICON = "🔁"  # the log's CACHE_WARM_RETRY: failed checks asked again on their own
STALE_ICON = "🕰️"
_TEXT_FOR_XORG = {
    Level.FIRE.icon: "[fire]",
    Level.WARN.icon: "[warn]",
    Level.SLOWISH.icon: "[slowish]",
    Level.SLOW.icon: "[slow]",
    Level.COMPLETE.icon: "[ok]",
    ERROR_ICON: "[error]",
    PAUSED_ICON: "[paused]",
    REWARM_ICON: "[rewarm]",
    RETRY_ICON: "[retry]",
    STALE_ICON: "[stale]",
    "…": "...",
    "·": "-",
    "≤": "<=",  # a limit whose usage is unknown: still a bound, not a lost character
}


_BATCHES = (WarmEvent.BATCH_WARM, WarmEvent.BATCH_SLOW, WarmEvent.BATCH_FAIL)

# --- what is shown ----------------------------------------------------------------------------


@dataclass(frozen=True)
class QuotaLine:
    """A line of the Quotas menu; ``region`` is what clicking it copies (None: nothing)."""

    text: str
    region: str | None = None
    heading: bool = False  # names the quota the lines below it read
    url: str | None = None  # the console page to ask for more of this quota
    launch: bool = False  # a [[launch]]'s verdict; region: its best region
    request: bool = False  # a quota increase request: a line of the Requests menu
    eligibility: str = ""  # whether the quota may be raised, said before asking for more


@dataclass(frozen=True)
class Display:
    """What the tray shows: the icon's state key, the tooltip / status text, the short answer
    (for a tray without a menu) and the Quotas menu's lines."""

    key: str
    text: str
    answer: str = ""
    quotas: tuple[QuotaLine, ...] = ()
    quota: str = ""  # which quota, when not Compute VMs on-demand: for the tooltip


def quota_lines(doc: Mapping[str, Any], now: float | None = None) -> tuple[QuotaLine, ...]:
    """One line per ``[[launch]]`` (its verdict), then per GPU type, then C3, with their best
    regions, from a cache document; a quota other than Compute VMs on-demand is named in a line
    above its kind's lines."""
    checks = answers.document_checks(doc)
    lines = launch_lines(doc, now)
    for kind in ("gpu", "c3"):
        heading = _quota_heading(kind, [c for c in checks if c.get("kind") == kind])
        if heading:
            lines.append(QuotaLine(heading, heading=True))
        for metric in answers.metrics_in_order(checks, kind):
            rows = [c for c in checks if c["metric"] == metric]
            best = answers.best_regions(rows, 1)
            region = best[metric][0][0] if best.get(metric) else None
            text = answers.clean(answers.summary_line(metric, checks), 100)
            ask = next((c for c in rows if c["region"] == region), rows[0])
            url = quota_names.request_url(str(ask.get("project", "")), ask)
            said = words.eligibility_text(ask.get("eligibility"))
            where = answers.clean(region, 60) if region else None
            lines.append(QuotaLine(text, where, url=url, eligibility=said))
    return (*lines, *request_lines(doc, now))


def request_lines(doc: Mapping[str, Any], now: float | None) -> list[QuotaLine]:
    """One line per quota increase request in the cache, with its state and age."""
    from trayapp.sources import preference_states as follow

    now = time.time() if now is None else now
    projects = doc.get("projects") if isinstance(doc.get("projects"), dict) else {}
    found = [e for p in projects.values() for e in (p.get("requests") or ()) if isinstance(e, dict)]
    return [QuotaLine(answers.clean(follow.summary(e, now), 120), request=True) for e in found]


def launch_lines(doc: Mapping[str, Any], now: float | None) -> list[QuotaLine]:
    """``a3-highgpu-8g x1: fits in us-east4, us-central1``: a click copies the first region
    where it fits (``fits ≤`` included, and said so); none without ``[[launch]]``."""
    from trayapp.launch import board

    judged = board.judge_document(doc, now)
    best = [answers.clean(j.best, 60) if j.best else None for j in judged]
    return [QuotaLine(t, b, launch=True) for t, b in zip(board.lines(judged), best, strict=True)]


def _quota_heading(kind: str, checks: list[dict[str, Any]]) -> str:
    """``GPU quota: Vertex AI training · Spot``, or "" for Compute VMs on-demand."""
    names = list(dict.fromkeys(quota_names.check_quota(c) for c in checks))
    if not names or names == [quota_names.quota_name("compute")]:
        return ""
    return f"{kind.upper()} quota: {', '.join(names)}"


def quota_note(lines: tuple[QuotaLine, ...]) -> str:
    """``GPU: Vertex AI training · Spot; C3: Cloud Build private pools`` from the headings."""
    return "; ".join(line.text.replace(" quota: ", ": ", 1) for line in lines if line.heading)


def short_answer(lines: tuple[QuotaLine, ...]) -> str:
    """``H100 8 free us-west1 · T4 21 free us-central1``: each line's best region only."""
    parts = []
    for line in lines:
        name, _, rest = line.text.partition(" · ")
        if line.region is not None and not line.launch and not line.request:
            parts.append(f"{name} {rest.split(' · ')[0]}")
    return " · ".join(parts)


def _duration(seconds: Any) -> str:
    return words.duration(seconds)


class DisplayModel:
    """Events -> :class:`Display`. Pure, so the tray's texts are testable without a screen."""

    def __init__(
        self, total: int, *, paused: bool = False, clock: Callable[[], float] = time.time
    ) -> None:
        self.total = total
        self.paused = paused
        self._clock = clock
        self._updated: float | None = None  # when the newest answer arrived
        self._oldest: float | None = None  # and the oldest
        self._complete = False  # the base text is the complete one, which shows the data age
        self._quotas: tuple[QuotaLine, ...] = ()
        self._answer = ""
        self._done = 0
        self._level = Level.FIRE
        self._elapsed_ms: int | None = None
        self._failed = 0
        self._base = Display(Level.FIRE.value, f"{Level.FIRE.icon} Warming… 0/{total}")
        self._error: str | None = None
        self._stale = False  # a late re-warm (after a sleep or a long pause) is under way

    @property
    def display(self) -> Display:
        """What to show now (the data's age is worked out now, at minute resolution)."""
        if self.paused:
            return self._with_answer("paused", f"{PAUSED_ICON} Paused · {self._done}/{self.total}")
        if self._error is not None:
            return self._with_answer("error", f"{ERROR_ICON} {self._error}")
        text = self._base.text
        if self._complete and self._updated is not None:
            now = self._clock()
            oldest = None if self._oldest is None else now - self._oldest
            text += f" · {words.updated(now - self._updated, oldest)}"
        return self._with_answer(self._base.key, text)

    def _with_answer(self, key: str, text: str) -> Display:
        return Display(key, text, self._answer, self._quotas, quota_note(self._quotas))

    def _take_answers(self, event: Event) -> None:
        """The Quotas lines, rebuilt when a cycle completes (or first from the seeded cache)."""
        finished = event.kind in (WarmEvent.COMPLETE, WarmEvent.INCOMPLETE)
        if event.snapshot is None and event.kind is WarmEvent.COMPLETE:
            self._updated = event.at  # no document: the cycle's end is the data's age
            self._oldest = None
        if event.snapshot is None or (self._quotas and not finished):
            return
        try:
            self._quotas = quota_lines(event.snapshot, self._clock())
            self._answer = short_answer(self._quotas)
            checks = answers.document_checks(event.snapshot)
            self._updated, self._oldest = answers.answer_span(checks)
        except (KeyError, TypeError, AttributeError) as exc:  # a document we do not know
            log.warning("cannot read the answers of an event: %s", exc)

    def set_paused(self, paused: bool) -> Display:
        """Follow the controller's paused flag."""
        self.paused = bool(paused)
        return self.display

    def apply(self, event: Event) -> Display:
        """Take in one event and return what to show after it."""
        kind = event.kind
        if event.progress.total > 0:
            self.total = event.progress.total
        self._take_answers(event)
        if kind in (WarmEvent.START, WarmEvent.REWARM, *_BATCHES):
            self._complete = False
        if kind in (WarmEvent.START, WarmEvent.REWARM):
            self._done = event.progress.done
            self._failed = 0
            self._error = None if kind is WarmEvent.START else self._error
            self._stale = bool(event.data.get("stale"))  # until this cycle completes
            icon = Level.FIRE.icon if kind is WarmEvent.START else REWARM_ICON
            verb = "Warming" if kind is WarmEvent.START else "Re-warming"
            key = Level.FIRE.value if kind is WarmEvent.START else self._base.key
            if self._stale:
                icon, verb, key = STALE_ICON, "Stale, re-warming", "stale"
            self._base = Display(key, f"{icon} {verb}… {self._done}/{self.total}")
        elif kind in (WarmEvent.BATCH_WARM, WarmEvent.BATCH_SLOW, WarmEvent.BATCH_FAIL):
            self._batch(event)
        elif kind is WarmEvent.COMPLETE:
            self._stale = False
            self._done = event.progress.done
            self._error = None
            text = f"{Level.COMPLETE.icon} {self._done}/{self.total} warm"
            self._base = Display(Level.COMPLETE.value, text)
            self._complete = True
            self._failed = 0
        elif kind is WarmEvent.INCOMPLETE:  # never ✅: the failure and when it is retried
            self._stale = False
            self._done = event.progress.done
            self._failed = 0
            text = _incomplete_text(event.data, self.total)
            self._error = None
            self._base = Display(Level.ERROR.value, text)
        elif kind is WarmEvent.RETRY:
            self._done = event.progress.done
            self._base = Display(
                self._base.key, f"{RETRY_ICON} Retrying failed checks… {self._done}/{self.total}"
            )
        elif kind is WarmEvent.ERROR:
            self._error = redact(event.message or "warming stopped", 120) or "warming stopped"
        elif kind is WarmEvent.PAUSED:
            self.paused = bool(event.data.get("paused", True))
            if event.progress.total > 0:
                self._done = event.progress.done
        return self.display

    def _batch(self, event: Event) -> None:
        self._done = event.progress.done
        if event.kind is WarmEvent.BATCH_FAIL:
            self._failed += 1
        else:
            self._level = event.level or (
                Level.FIRE if event.kind is WarmEvent.BATCH_WARM else Level.WARN
            )
            if event.elapsed_ms is not None:
                self._elapsed_ms = event.elapsed_ms
            if not event.data.get("failed"):
                self._error = None
        text = f"{self._level.icon} Warming… {self._done}/{self.total}"
        if self._stale:
            text = f"{STALE_ICON} Stale, re-warming… {self._done}/{self.total}"
        if self._elapsed_ms is not None:
            text += f" · {self._elapsed_ms} ms"
        if self._failed:
            text += f" · {self._failed} failed"
        self._base = Display("stale" if self._stale else self._level.value, text)


def _incomplete_text(data: Mapping[str, Any], total: int) -> str:
    """``💥 3/38 failed · <reason> · retry in 1m``; a cache file the answers did not reach
    comes first, with where and why: ``💥 not written · cannot write <path>: <why>``."""
    reasons = data.get("reasons") or ["unknown error"]
    failed, unwritten = data.get("failed"), data.get("unwritten")
    text = f"{ERROR_ICON} {failed}/{total} failed · {redact(str(reasons[0]), 120)}"
    if unwritten:
        text = f"{ERROR_ICON} not written · {redact(str(unwritten), 160)}"
        text += f" · {failed}/{total} failed" if failed else ""
    retry = _duration(data.get("retry_in_s"))
    return text + (f" · retry in {retry}" if retry else " · not retried")


def latin1_title(text: str) -> str:
    """A title the xorg backend can set as WM_NAME: emoji become words, the rest Latin-1."""
    for symbol, spelled in _TEXT_FOR_XORG.items():
        text = text.replace(symbol, spelled)
    text = text.replace("\ufe0f", "")
    return text.encode("latin-1", "replace").decode("latin-1")
