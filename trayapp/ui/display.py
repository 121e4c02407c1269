"""What the tray shows: an icon key and a one-line text, derived from the warmer's events."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from trayapp.events import Event, WarmEvent
from trayapp.levels import Level
from trayapp.ui.notices import redact

if TYPE_CHECKING:
    pass

log = logging.getLogger(__name__)

APP_NAME = "quota-tray"
DEFAULT_XORG_BACKGROUND = (0x33, 0x33, 0x33)
ERROR_ICON = "💥"
PAUSED_ICON = "⏸️"
REWARM_ICON = "🔄"
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
    STALE_ICON: "[stale]",
    "…": "...",
    "·": "-",
}


# --- what is shown ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Display:
    """What the tray shows: the icon's state key and the tooltip / status text."""

    key: str
    text: str


def _duration(seconds: Any) -> str:
    try:
        value = max(0.0, float(seconds))
    except (TypeError, ValueError):
        return ""
    if value < 100:
        return f"{value:.0f} s"
    minutes, secs = divmod(round(value), 60)
    return f"{minutes} min {secs} s" if minutes < 60 else f"{minutes // 60} h {minutes % 60} min"


class DisplayModel:
    """Events -> :class:`Display`. Pure, so the tray's texts are testable without a screen."""

    def __init__(self, total: int, *, paused: bool = False) -> None:
        self.total = total
        self.paused = paused
        self._done = 0
        self._level = Level.FIRE
        self._elapsed_ms: int | None = None
        self._failed = 0
        self._base = Display(Level.FIRE.value, f"{Level.FIRE.icon} Warming… 0/{total}")
        self._error: str | None = None
        self._stale = False  # a late re-warm (after a sleep or a long pause) is under way

    @property
    def display(self) -> Display:
        """What to show now."""
        if self.paused:
            return Display("paused", f"{PAUSED_ICON} Paused · {self._done}/{self.total}")
        if self._error is not None:
            return Display("error", f"{ERROR_ICON} {self._error}")
        return self._base

    def set_paused(self, paused: bool) -> Display:
        """Follow the controller's paused flag."""
        self.paused = bool(paused)
        return self.display

    def apply(self, event: Event) -> Display:
        """Take in one event and return what to show after it."""
        kind = event.kind
        if event.progress.total > 0:
            self.total = event.progress.total
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
            took = _duration(event.data.get("duration_s"))
            if took:
                text += f" · {took}"
            self._base = Display(Level.COMPLETE.value, text)
            self._failed = 0
        elif kind is WarmEvent.INCOMPLETE:  # never ✅: the failure and when it is retried
            self._stale = False
            self._done = event.progress.done
            self._failed = 0
            reasons = event.data.get("reasons") or ["unknown error"]
            text = f"{ERROR_ICON} {event.data.get('failed')}/{self.total} failed"
            text += f" · {redact(str(reasons[0]), 120)}"
            retry = _duration(event.data.get("retry_in_s"))
            text += f" · retry in {retry}" if retry else " · not retried"
            self._error = None
            self._base = Display(Level.ERROR.value, text)
        elif kind is WarmEvent.RETRY:
            self._done = event.progress.done
            self._base = Display(
                self._base.key, f"{REWARM_ICON} Retrying failed checks… {self._done}/{self.total}"
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


def latin1_title(text: str) -> str:
    """A title the xorg backend can set as WM_NAME: emoji become words, the rest Latin-1."""
    for symbol, words in _TEXT_FOR_XORG.items():
        text = text.replace(symbol, words)
    text = text.replace("\ufe0f", "")
    return text.encode("latin-1", "replace").decode("latin-1")
