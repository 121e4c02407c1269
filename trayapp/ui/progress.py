"""Headless progress on a terminal: a live status line, or plain lines when piped."""

from __future__ import annotations

import sys
import threading
from typing import TextIO

from trayapp.logsink import MAX_LINE, RepeatFold
from trayapp.safety.text import clean_line
from trayapp.warming.events import Event, WarmEvent

_BATCH = (WarmEvent.BATCH_WARM, WarmEvent.BATCH_SLOW, WarmEvent.BATCH_FAIL)
_END = (WarmEvent.COMPLETE, WarmEvent.INCOMPLETE)


def status_line(event: Event) -> str:
    """``🔥 15/38 · 812 ms`` - the level icon, done/total and the last batch time."""
    p = event.progress
    icon = event.level.icon if event.level else "…"
    ms = f" · {event.elapsed_ms} ms" if event.elapsed_ms is not None else ""
    return f"{icon} {p.done}/{p.total}{ms}  ({p})"


class TerminalProgress:
    """Observer printing progress; the only state it keeps is a count of repeated failures."""

    def __init__(self, stream: TextIO | None = None, tone: str = "spicy") -> None:
        self.stream = stream or sys.stdout
        self.live = self.stream.isatty()
        self.tone = tone
        self._lock = threading.Lock()
        self._width = 0
        self._fold = RepeatFold()
        self._finished = False  # `run --once` said it finished: nothing is printed after it

    def on_event(self, event: Event) -> None:
        with self._lock:
            if self._finished:
                return
            self._finished = event.kind in _END and event.data.get("once") is True
            if self.live and event.kind in _BATCH:
                text = status_line(event)
                self.stream.write("\r" + text.ljust(self._width))
                self._width = len(text)
            else:
                lines = self._fold.lines(event, self.tone)
                if not lines:
                    return
                for line in lines:
                    self._line(line)
            self.stream.flush()

    def say(self, line: str) -> None:
        """A line from outside the event stream (a watch rule met), above the status line."""
        with self._lock:
            if self._finished:
                return
            self._line(clean_line(line, MAX_LINE))
            self.stream.flush()

    def _line(self, line: str) -> None:
        if self.live and self._width:
            self.stream.write("\r" + " " * self._width + "\r")
            self._width = 0
        self.stream.write(line + "\n")
