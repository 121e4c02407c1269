"""The ``cache_warm.log`` observer: one event per line, spicy unless told otherwise; Python
``logging``'s warnings and errors in the same file (what keeps failing is ``warming.troubles``)."""

from __future__ import annotations

import logging
import os
import re
import sys
import threading
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TextIO

from trayapp.safety.files import open_private, private_dir
from trayapp.safety.text import clean_line, one_line_trace
from trayapp.warming.events import Event, WarmEvent
from trayapp.warming.levels import Level, phrase

MAX_BYTES = 5 * 1024 * 1024  # beyond this the old log is kept as .1 and a new one begins
MAX_LINE = 2000  # a log line, whatever its details say

_TOKENS = {
    Level.FIRE: "BATCH_WARM",
    Level.WARN: "CACHE_WARM_WARN",
    Level.SLOWISH: "CACHE_WARM_SLOWISH",
    Level.SLOW: "CACHE_WARM_SLOW",
}


def format_event(event: Event, tone: str = "spicy") -> str | None:
    """``<emoji> <TOKEN>: <details>`` for an event, or None for events not logged."""
    p, kind, d = event.progress, event.kind, event.data
    if kind in (WarmEvent.BATCH_WARM, WarmEvent.BATCH_SLOW) and event.level:
        return (
            f"{event.level.icon} {_TOKENS[event.level]}: {p} - {event.elapsed_ms}ms "
            f"{phrase(event.level, tone)}"
        ).rstrip()
    if kind is WarmEvent.BATCH_FAIL:
        extra = f" {phrase(event.level, tone)}" if event.level in (Level.SLOW,) else ""
        return (
            f"❌ BATCH_FAIL: {p} - {event.elapsed_ms}ms - {event.error_kind}: "
            f"{event.message}{extra}"
        )
    if kind is WarmEvent.START:
        return (
            f"🚀 CACHE_WARM_START: {d.get('checks')} checks for "
            f"{', '.join(d.get('projects', []))} (1 GPU + 1 C3 every {d.get('interval_s')}s, "
            f"re-warm every {d.get('rewarm_s')}s)"
        )
    if kind is WarmEvent.COMPLETE:
        end = " - run --once finished: complete" if d.get("once") else ""
        more = (
            f" (+{d['enrichment_calls']} for usage, capacity, eligibility, requests)"
            if d.get("enrichment_calls")
            else ""
        )
        return (
            f"✅ CACHE_WARM_COMPLETE: {p} in {d.get('duration_s')}s - "
            f"{d.get('api_calls')} API calls{more}{end} - {phrase(Level.COMPLETE, tone)}"
        )
    if kind is WarmEvent.INCOMPLETE:
        return _incomplete(event, tone)
    if kind is WarmEvent.RETRY:
        return (
            f"🔁 CACHE_WARM_RETRY: {d.get('failed')} failed checks in {d.get('regions')} "
            f"regions, retry {d.get('attempt')}"
        )
    if kind is WarmEvent.CONFIG_RELOADED:
        notes = "; ".join(d.get("notes") or ())
        what = "new plan, re-warming" if d.get("plan_changed") else "same plan"
        return f"🔧 CACHE_WARM_CONFIG_RELOADED: {what}" + (f" ({notes})" if notes else "")
    if kind is WarmEvent.REWARM:
        return (
            f"🔄 CACHE_REWARM: {d.get('reason')} - cycle {event.cycle} begins, "
            "old values served until replaced"
        )
    if kind is WarmEvent.SKIP:
        skipped = d.get("skipped")
        ticks = "tick" if skipped == 1 else "ticks"
        return f"⏭️ CACHE_WARM_SKIP: {skipped} {ticks} skipped ({d.get('reason')})"
    if kind is WarmEvent.ERROR:
        return f"💥 CACHE_WARM_ERROR: {event.error_kind}: {event.message}"
    if kind is WarmEvent.CONFIG_REJECTED:
        return f"⚠️ CACHE_WARM_CONFIG_REJECTED: {event.message}"
    if kind is WarmEvent.NOTICE:
        return f"ℹ️ CACHE_WARM_NOTICE: {event.message}"
    if kind in (WarmEvent.REQUEST, WarmEvent.CAPACITY):  # "🎉 H100 Spot, ...: granted 40 in ..."
        icon, _, said = event.message.partition(" ")
        return f"{icon} CACHE_WARM_{kind.name}: {said}"
    if kind is WarmEvent.CANCELLED:
        return f"🛑 CACHE_WARM_CANCELLED: stopped at {p}"
    if kind is WarmEvent.FINAL_STATS:
        return "📊 FINAL_STATS: " + ", ".join(
            f"{k}={v}" for k, v in d.items() if not isinstance(v, dict)
        )
    if kind is WarmEvent.PAUSED:
        return "⏸️ CACHE_WARM_PAUSED" if d.get("paused") else "▶️ CACHE_WARM_RESUMED"
    return None


def _incomplete(event: Event, tone: str) -> str:  # failed checks, or answers not written
    d = event.data
    failed, unwritten, retry = d.get("failed"), d.get("unwritten"), d.get("retry_in_s")
    what = [f"answers not written ({unwritten})"] if unwritten else []
    if failed or not unwritten:
        what.insert(0, f"{failed} failed ({(d.get('reasons') or ['unknown'])[0]})")
    then = f"retry in {retry:g}s" if retry is not None else "no retry: fix the config"
    if d.get("once"):
        then = f"run --once finished with {failed} failed" if failed else "run --once finished"
        then += ", answers not written" if unwritten else ""
    return (
        f"💥 CACHE_WARM_INCOMPLETE: {event.progress} in {d.get('duration_s')}s - "
        f"{'; '.join(what)} - {then} - {phrase(Level.ERROR, tone)}"
    )


_WHERE = re.compile(r"^[^\s:/]+/[^\s:/]+: ")  # "my-project/us-east1: " before a cause


class RepeatFold:
    """A batch failure is said once a cycle: later batches of that cycle failing the same way
    (the same kind and words, whatever the region) are counted, and the count is said once,
    before the line that ends the cycle."""

    _ENDS = (
        WarmEvent.COMPLETE,
        WarmEvent.INCOMPLETE,
        WarmEvent.REWARM,
        WarmEvent.CANCELLED,
        WarmEvent.FINAL_STATS,
    )

    def __init__(self) -> None:
        self._said: dict[tuple[str | None, str], int] = {}  # cause -> repeats not said yet

    def lines(self, event: Event, tone: str = "spicy") -> list[str]:
        if event.kind is WarmEvent.BATCH_FAIL:
            cause = (event.error_kind, _WHERE.sub("", event.message or ""))
            if cause in self._said:
                self._said[cause] += 1
                return []
            self._said[cause] = 0
        line = format_event(event, tone)
        out = self._flush() if event.kind in self._ENDS else []
        return [*out, line] if line else out

    def _flush(self) -> list[str]:
        said, self._said = self._said, {}
        out = []
        for (kind, cause), more in said.items():
            if more:
                batches = "batch" if more == 1 else "batches"
                out.append(
                    f"❌ BATCH_FAIL: {more} more {batches} failed the same way ({kind}: {cause})"
                )
        return out


class FileLog:
    """Appends formatted events to the log file (0600), keeping one rotated copy: rotated
    whenever it passes ``max_bytes`` (a noisy server cannot grow it without bound); a link
    planted at its path is never followed."""

    def __init__(self, path: Path, tone: str = "spicy", max_bytes: int = MAX_BYTES) -> None:
        self.path, self.tone, self.max_bytes = path, tone, max_bytes
        self.rotations = self._size = 0
        self._lock = threading.Lock()
        self._file: TextIO | None = None
        self._fold = RepeatFold()

    def open(self) -> FileLog:
        private_dir(self.path.parent)
        with self._lock:
            self._open()
            if self._size > self.max_bytes:
                self._rotate()
        return self

    def _open(self) -> None:
        fd = open_private(self.path)
        self._size = os.fstat(fd).st_size
        self._file = os.fdopen(fd, "a", encoding="utf-8", buffering=1)

    def _rotate(self) -> None:
        """Keep the current file as ``.1`` (replacing the older one) and begin a new one."""
        if self._file is not None:
            self._file.close()
            self._file = None
        os.replace(self.path, self.path.with_name(self.path.name + ".1"))
        self.rotations += 1
        self._open()

    def on_event(self, event: Event) -> None:
        when = datetime.fromtimestamp(event.at).astimezone()
        with self._lock:
            lines = self._fold.lines(event, self.tone)
        for line in lines:
            self._write(when, line)

    def write_line(self, line: str) -> None:
        """A line decided outside the event stream (a watch rule met), stamped now."""
        self._write(datetime.now().astimezone(), line)

    def error(self, message: str, *, terminal: bool = False) -> None:
        """A failure outside the event stream (the disk, the cache file); ``terminal``: on
        stderr too, for whoever started the run."""
        self._write(datetime.now().astimezone(), f"💥 CACHE_WARM_ERROR: {message}")
        if terminal:
            print(f"quota-tray: {clean_line(message)}", file=sys.stderr)

    def _write(self, when: datetime, line: str) -> None:
        text = f"{when.isoformat(timespec='milliseconds')} {clean_line(line, MAX_LINE)}\n"
        with self._lock:
            if self._file is None:
                return
            if self._size > self.max_bytes:
                self._rotate()
            if self._file is not None:
                self._file.write(text)
                self._size += len(text.encode("utf-8", "replace"))

    def close(self) -> None:
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None

    def python(self, levelno: int, text: str) -> None:
        """A warning or error from Python ``logging`` (see :class:`LogRoute`)."""
        token = "💥 APP_ERROR" if levelno >= logging.ERROR else "⚠️ APP_WARNING"
        self._write(datetime.now().astimezone(), f"{token}: {text}")


# -- Python logging into the same file ----------------------------------------------------------


class LogRoute(logging.Handler):
    """Warnings and errors of Python ``logging`` (any module, third-party ones too) as one clean
    line each in ``cache_warm.log``: started at login, nobody reads the app's stderr.

    Rate-limited: the same message (same logger, same format) is written at most once per
    ``window_s``, and the next one written says how many were held back; at most ``burst``
    lines per window in all, so a loop of failures cannot flood the file.
    """

    def __init__(
        self,
        filelog: FileLog,
        window_s: float = 60.0,
        burst: int = 20,
        clock: Callable[[], float] = time.monotonic,
        stream: TextIO | None = None,
    ) -> None:
        super().__init__(logging.WARNING)
        self.filelog, self.window_s, self.burst, self.clock = filelog, window_s, burst, clock
        self.stream = stream  # also there (a terminal, a service's journal), same lines
        self._last: dict[tuple[str, str], float] = {}
        self._held: dict[tuple[str, str], int] = {}
        self._window = (float("-inf"), 0)  # (start, lines written in it)

    def emit(self, record: logging.LogRecord) -> None:  # called under the handler's lock
        try:
            now, key = self.clock(), (record.name, str(record.msg))
            start, written = self._window
            if now - start >= self.window_s:
                start, written = now, 0
            last = self._last.get(key)
            if (last is not None and now - last < self.window_s) or written >= self.burst:
                self._held[key] = self._held.get(key, 0) + 1
                return
            self._window, self._last[key] = (start, written + 1), now
            if len(self._last) > 1000:  # formats are few; a bound all the same
                self._last = {k: t for k, t in self._last.items() if now - t < self.window_s}
            text = f"{record.name}: {record.getMessage()}"
            if record.exc_info and record.exc_info[1] is not None:
                text += f" ({one_line_trace(record.exc_info[1])})"
            held = self._held.pop(key, 0)
            if held:
                text += f" ({held} more like it held back)"
            self.filelog.python(record.levelno, text)
            if self.stream is not None:
                self.stream.write(f"quota-tray: {clean_line(text, MAX_LINE)}\n")
                self.stream.flush()
        except Exception:
            self.handleError(record)


def route_logging(filelog: FileLog) -> Callable[[], None]:
    """Send warnings and errors of every logger to ``filelog`` (and, as before, to stderr);
    returns the undo."""
    import sys

    handler = LogRoute(filelog, stream=sys.stderr)
    root = logging.getLogger()
    root.addHandler(handler)
    return lambda: root.removeHandler(handler)
