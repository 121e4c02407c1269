"""Text from outside (API messages, cache files, config, control input) made inert.

Standard library only. Control characters (terminal escapes, BEL, newlines) and format
characters (right-to-left overrides, zero-width marks) become spaces, runs of space collapse,
and the line is capped: one rule for every surface (log, terminal, cache, notifications). A
cap never cuts inside a quoted command (``"gcloud services enable ..."``): half a command
would run as another one, so the line is cut before it.
"""

from __future__ import annotations

import unicodedata

MAX_LINE = 300  # what a reason may cost any surface, once it has entered the program


def clean_line(text: object, limit: int = MAX_LINE) -> str:
    """``text`` as one printable line of at most ``limit`` characters (``…`` marks a cut)."""
    raw = str(text)
    if len(raw) <= limit and raw.isprintable() and "  " not in raw and raw == raw.strip():
        return raw  # the common case, at the cost of one C-level scan
    if len(raw) > 4 * limit:  # never walk a megabyte to keep a few hundred characters
        raw = raw[: 4 * limit]
    kept = "".join(" " if unicodedata.category(ch)[0] == "C" else ch for ch in raw)
    line = " ".join(kept.split())
    if len(line) <= limit:
        return line
    start, _ = quoted_around(line, limit - 1)
    return line[:start].rstrip() + "…"


def quoted_around(text: str, at: int) -> tuple[int, int]:
    """(where it opens, just past where it closes) of the ``"..."`` or ```...``` span that a
    cut at ``at`` would fall inside (an unclosed one runs to the end), else ``(at, at)``."""
    start, end = at, at
    for quote in '"`':
        if text.count(quote, 0, at) % 2:
            opened = text.rfind(quote, 0, at)
            closed = text.find(quote, at)
            if opened < start:
                start, end = opened, len(text) if closed < 0 else closed + 1
    return start, end


def one_line_trace(exc: BaseException, frames: int = 6) -> str:
    """``KeyError: 'x' at state.py:88 < quota_calls.py:170 < ...``: an exception and the last
    ``frames`` places it passed through, innermost first, as one line for the log."""
    import os

    places: list[str] = []
    tb = exc.__traceback__
    while tb is not None:
        code = tb.tb_frame.f_code
        places.append(f"{os.path.basename(code.co_filename)}:{tb.tb_lineno}")  # noqa: PTH119
        tb = tb.tb_next
    where = " < ".join(reversed(places[-frames:]))
    return clean_line(f"{type(exc).__name__}: {exc}" + (f" at {where}" if where else ""))
