"""What the terminal view shows, worked out from a cache snapshot: rows, sort order, status line.

Standard library only, so these rules are tested without a terminal. The wording and the filters
come from ``trayapp.answers``: FREE, "not reported" and ``--metric``/``--min-free`` mean the same
thing here as in ``quota-tray show``.
"""

from __future__ import annotations

import contextlib
import math
import os
import sys
import time
from dataclasses import dataclass

from trayapp import answers, cache, words
from trayapp.safety.text import clean_line
from trayapp.sources import quota_names
from trayapp.warming.levels import Level, phrase

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence
    from typing import Any

COLUMNS: tuple[tuple[str, str], ...] = tuple(
    zip(("region", "metric", "limit", "usage", "free", "age", "status"), words.COLUMNS, strict=True)
)  # the words and order of `show`'s table
RIGHT_ALIGNED = frozenset({"limit", "usage", "free", "age"})
SORTS = ("cache", "free", "metric", "region", "age")  # what the `s` key steps through
MAX_TEXT = 80  # cells and the status reason: cache text is outside text


def clean(text: object, cap: int = MAX_TEXT) -> str:
    """One line of printable text of at most ``cap`` characters."""
    return clean_line(text, cap)


@dataclass(frozen=True)
class Filters:
    """The filter bar: GPU types (full or short names) and a minimum FREE, as in ``show``."""

    metrics: tuple[str, ...] = ()
    min_free: float | None = None

    @classmethod
    def parse(cls, metrics: str, min_free: str) -> Filters:
        """From the two inputs; raises ValueError when min free is not a number >= 0."""
        names = tuple(m for m in metrics.replace(",", " ").split() if m)
        text = min_free.strip()
        if not text:
            return cls(names, None)
        value = float(text)
        if not math.isfinite(value) or value < 0:
            raise ValueError(f"min free must be a number >= 0, not {text!r}")
        return cls(names, value)


def launch_lines(snap: cache.Snapshot, projects: Sequence[str], now: float) -> list[str]:
    """The ``[[launch]]`` verdicts of ``projects``, one line each as the tray says them
    (``a3-highgpu-8g x1: fits in us-east4``), each followed by its capacity advice where the
    cache holds some; none when the cache names no launch."""
    from trayapp.launch import board

    judged = [j for j in board.judge_document(snap.doc, now) if j.project in projects]
    said = []
    for one, line in zip(judged, board.lines(judged), strict=True):
        said.append(clean(line, 200))
        if one.capacity_text:
            said.append(f"  {clean(one.capacity_text, 300)}")
    return said


def request_lines(snap: cache.Snapshot, projects: Sequence[str], now: float) -> list[str]:
    """The quota increase requests the warmer follows, one line each with state and age
    (``request: H100 in us-central1: granted 16 of 16 · 3 min ago``)."""
    from trayapp.sources import preference_states

    found = [e for p in projects for e in snap.section(p, "requests")]
    return [clean(f"request: {preference_states.summary(e, now)}", 300) for e in found]


@dataclass(frozen=True)
class Row:
    """One table row; ``key`` names the same check across reloads."""

    key: str
    cells: tuple[str, ...]  # in COLUMNS order
    free: float | None  # exact, or the limit when usage is unknown
    age: float | None
    fresh: bool


def rows(
    snap: cache.Snapshot,
    project: str,
    filters: Filters = Filters(),  # frozen: one shared default is safe
    sort: str = "cache",
    reverse: bool = False,
    *,
    now: float | None = None,
    max_age_s: float | None = None,
) -> list[Row]:
    """The project's checks that pass the filters, in the chosen order; fresh means younger
    than the age the writer states (``Snapshot.max_age_s``) unless one is given."""
    now = time.time() if now is None else now
    max_age_s = snap.max_age_s if max_age_s is None else max_age_s
    picked = answers.select(
        snap.checks(project), metrics=filters.metrics, min_free=filters.min_free
    )
    return sort_rows([_row(c, now, max_age_s) for c in picked], sort, reverse)


def filter_problem(snap: cache.Snapshot, projects: Sequence[str], filters: Filters) -> str | None:
    """When the GPU types match nothing, why (as ``show --metric`` says it), else None."""
    checks = [c for p in projects for c in snap.checks(p)]
    wanted = [m for m in filters.metrics if answers.select(checks, metrics=[m])]
    if not filters.metrics or wanted:
        return None
    from trayapp.settings import names

    problems = names.filter_problems(checks, filters.metrics)
    return problems[0][0].replace("--metric: ", "GPU type: ", 1) if problems else None


def _row(check: dict[str, Any], now: float, max_age_s: float) -> Row:
    fresh = cache.is_fresh(check, max_age_s, now)
    bound = answers.free_bound(check)
    age = answers.age_s(check, now)
    cells = (  # in words.COLUMNS order, with the words `show` prints
        clean(check["region"]),
        clean(quota_names.short_label(check, words.short_name(str(check["metric"])))),
        words.number_cell(check, "limit"),
        words.number_cell(check, "usage"),
        answers.format_free(check),
        words.ago(age),
        " · ".join(  # cleaned and cut at a word by words; where usage came from
            t
            for t in (
                words.state_text(check, fresh),
                words.usage_text(check, max_age_s, now),
                words.eligibility_text(check.get("eligibility"))
                if answers.nothing_free(check)
                else "",  # where nothing is free: may more be asked for
            )
            if t
        ),
    )
    key = clean(f"{check['region']}/{check['metric']}", 200)
    return Row(key, cells, bound[0] if bound else None, age, fresh)


def sort_rows(rows: Sequence[Row], sort: str, reverse: bool = False) -> list[Row]:
    """``cache`` keeps the cache's order (most free first under a min-free filter, as in
    ``show``); FREE sorts most free first; unknown values stay last either way."""
    if sort == "cache":
        return list(reversed(rows)) if reverse else list(rows)
    key = {
        "free": lambda r: r.free,
        "age": lambda r: r.age,
        "metric": lambda r: (r.cells[1], r.cells[0]),
        "region": lambda r: (r.cells[0], r.cells[1]),
    }[sort]
    known = sorted(
        (r for r in rows if key(r) is not None), key=key, reverse=(sort == "free") ^ reverse
    )
    return known + [r for r in rows if key(r) is None]


# -- the status widget ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Status:
    state: str  # "starting" | "warming" | "complete" | "paused" | "error" | "stopped"
    text: str


def status(
    snap: cache.Snapshot,
    projects: Sequence[str],
    *,
    alive: bool,
    now: float | None = None,
    reads: cache.ReadStats | None = None,
) -> Status:
    """The original design's top-right widget: level icon, done/total, last batch time, data
    age; 💥 and the first failing check's error when the warmer reports failures."""
    now = time.time() if now is None else now
    warmer = snap.warmer
    cycles = [snap.cycle(p) for p in projects]
    checks = [c for p in projects for c in snap.checks(p)]
    done = sum(_int(c.get("done")) for c in cycles)
    total = sum(_int(c.get("total")) for c in cycles)
    progress = f"{done}/{total}"
    tail = []
    ms = warmer.get("last_batch_ms")
    if alive and isinstance(ms, int | float) and not isinstance(ms, bool):
        tail.append(f"batch {ms:.0f} ms")
    tail.append(answers.data_age(checks, now))
    if reads is not None and reads.hits + reads.misses:
        tail.append(f"reads {reads.hit_rate:.0%} fresh")
        if reads.should_complain():
            tail.append(phrase("low_hit_rate", "plain"))
    level = warmer.get("level")
    failed = sum(_count(c.get("failed")) for c in cycles)
    finished = level == Level.COMPLETE.value or (cycles and all(_finished(c) for c in cycles))
    in_error = sum(answers.in_error(c) for c in checks)
    if not alive:
        state, head = "stopped", "no warmer running"
    elif level == Level.ERROR.value or failed or (finished and in_error):  # never "complete"
        state, head = "error", _failure(failed or in_error, checks)
    elif warmer.get("paused") is True:
        state, head = "paused", "⏸ Paused"
    elif finished:  # every check answered and no latest fetch failed
        state, head = "complete", f"{Level.COMPLETE.icon} Complete"
    elif isinstance(level, str) and level in _WARMING:
        state, head = "warming", f"{_WARMING[level]} Warming..."
    else:
        state, head = "starting", "⏳ Starting..."
    head += f" · {progress}" if state in ("error", "stopped") else f" {progress}"
    return Status(state, " · ".join([head, *tail]))


_WARMING = {lvl.value: lvl.icon for lvl in Level if lvl not in (Level.COMPLETE, Level.ERROR)}


def _failure(failed: int, checks: Iterable[dict[str, Any]]) -> str:
    checks = list(checks)
    errors = [c for c in checks if c.get("status") == "error"] + checks
    reason = next(
        (c["error"] for c in errors if isinstance(c.get("error"), str) and c["error"]), ""
    )
    icon = Level.ERROR.icon
    head = f"{icon} {failed} failed" if failed else f"{icon} Failing"
    return f"{head}: {clean(reason, 60)}" if reason else head


def _finished(cycle: dict[str, Any]) -> bool:
    return bool(cycle.get("completed_at")) and _int(cycle.get("done")) == _int(cycle.get("total"))


def _int(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _count(value: object) -> int:
    """``cycle.failed`` is a count; a list of names counts its entries."""
    return len(value) if isinstance(value, list) else max(0, _int(value))


# -- is the cache's writer still there -------------------------------------------------------------


def pid_alive(pid: object) -> bool:
    """True when ``pid`` is a running process (a zombie is not): the warmer named in the cache."""
    if not isinstance(pid, int) or isinstance(pid, bool) or pid <= 0:
        return False
    if sys.platform == "win32":
        return _windows_alive(pid)
    try:
        os.kill(pid, 0)
    except PermissionError:  # somebody else's process: alive
        return True
    except (OSError, OverflowError):  # none, or a number no process can have
        return False
    # Linux: an exited child that nobody reaped yet is a zombie ("Z"), not a warmer
    with contextlib.suppress(OSError, IndexError), open(f"/proc/{pid}/stat", "rb") as f:  # noqa: PTH123
        return f.read().rsplit(b")", 1)[1].split()[0] != b"Z"
    return True


def _windows_alive(pid: int) -> bool:  # pragma: no cover - Windows only
    import ctypes

    kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)  # type: ignore[attr-defined]
    handle = kernel32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
    if not handle:
        return ctypes.get_last_error() == 5  # access denied: it exists
    try:
        code = ctypes.c_ulong()
        return bool(kernel32.GetExitCodeProcess(handle, ctypes.byref(code))) and code.value == 259
    finally:
        kernel32.CloseHandle(handle)
