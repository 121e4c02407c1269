"""``quota-tray stats`` and the tray's "Show stats": the history, summarised and drawn."""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from trayapp.ui.plot import DAY, draw_chart, window_text
from trayapp.warming.levels import Level, Thresholds


# -- the tray's "Show stats" ------------------------------------------------------------------
def show_stats(
    db: str | os.PathLike[str] | None = None,
    since_s: float | None = DAY,
    thresholds: Thresholds | None = None,
    opener: Callable[[Path], None] | None = None,
    folder: str | os.PathLike[str] | None = None,
) -> Path:
    """Draw the chart into ``folder`` (the cache's, by default; the demo passes its own) and
    open it in the desktop's image viewer.

    Slow (Pillow, SQLite): call it off the tray thread. Raises ``history.HistoryError`` when
    there is no history and ``OSError`` when the chart cannot be written or opened.
    """
    from trayapp import history, paths
    from trayapp.safety.files import private_dir

    data = history.series(db or history.default_path(), since_s)
    target = Path(folder if folder is not None else paths.cache_dir()) / "stats.png"
    private_dir(target.parent)
    tmp = target.with_name(f".stats.{os.getpid()}.png")
    write_chart(data, tmp, thresholds or Thresholds())
    tmp.replace(target)  # replaces a link planted at the target, never writes through it
    (opener or open_file)(target)
    return target


def show_from_tray(runtime: Any) -> None:
    """The tray's "Show stats" for a running app: draw its history chart and open it; a
    failure is a warning in the log, never an exception on the tray's worker."""
    from trayapp.history import HistoryError

    try:
        show_stats(
            runtime.files.history,
            thresholds=runtime.settings.thresholds,
            folder=runtime.files.cache.parent,  # the demo's chart goes into its own folder
        )
    except (HistoryError, OSError) as exc:
        logging.getLogger("trayapp").warning("cannot show stats: %s", exc)


def write_chart(data: Any, target: Path, t: Thresholds) -> None:
    """Draw into our own 0600 file at ``target``: a link planted there is replaced."""
    from trayapp.safety.files import open_private

    fd = open_private(target, os.O_WRONLY | os.O_TRUNC)
    with os.fdopen(fd, "wb") as f:
        draw_chart(data, f, warn_ms=t.warn_ms, slowish_ms=t.slowish_ms, slow_ms=t.slow_ms)


def write_user_chart(data: Any, target: Path, t: Thresholds) -> None:
    """``stats --plot FILE``: a path the user named is the user's. The chart is drawn first,
    so a failed drawing leaves their file as it was; then it is written where they said,
    through their link if that is what they named, as any program would (a new file is 0600,
    an existing one keeps its mode)."""
    import io

    buffer = io.BytesIO()
    draw_chart(data, buffer, warn_ms=t.warn_ms, slowish_ms=t.slowish_ms, slow_ms=t.slow_ms)
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_BINARY", 0)
    fd = os.open(target, flags, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(buffer.getvalue())


def open_file(path: Path) -> None:
    """Open ``path`` with the desktop's default application, without waiting for it."""
    import subprocess

    if sys.platform == "win32":
        os.startfile(path)  # type: ignore[attr-defined]  # noqa: S606
        return
    command = ["open" if sys.platform == "darwin" else "xdg-open", os.fspath(path)]
    subprocess.Popen(
        command,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


# -- quota-tray stats ----------------------------------------------------------------------------
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": DAY, "w": 7 * DAY}


def parse_since(text: str) -> float | None:
    """``30m``, ``24h``, ``7d``, ``2w`` or plain seconds; ``all`` means the whole history."""
    raw = text.strip().lower()
    if raw == "all":
        return None
    if raw.startswith("-"):
        raise ValueError(
            f"--since cannot be negative ({text!r}): it reaches back from now, like 24h"
        )
    number, unit = (raw[:-1], raw[-1]) if raw[-1:] in _UNITS else (raw, "s")
    try:
        value = float(number) * _UNITS[unit]
    except ValueError:
        value = math.nan
    if not 0 < value < math.inf:
        raise ValueError(f"--since: expected a duration like 30m, 24h, 7d or seconds, not {text!r}")
    return value


def add_stats_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``quota-tray stats``."""
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument(
        "--since",
        default="24h",
        metavar="AGE",
        help="window: 30m, 24h, 7d, seconds, or all (default 24h)",
    )
    parser.add_argument("--plot", type=Path, metavar="FILE.png", help="also draw a chart")
    parser.add_argument("--db", type=Path, metavar="PATH", help="history file to read")
    parser.add_argument("--demo", action="store_true", help="the demo's history")


def stats_command(args: argparse.Namespace) -> int:
    """Print the summary (or JSON) and draw the chart; 3 when there is no history yet."""
    from trayapp import history

    since = parse_since(args.since)
    if args.plot is not None and args.plot.suffix.lower() != ".png":
        raise ValueError(f"--plot draws a PNG: name the file FILE.png, not {args.plot.name!r}")
    demo = getattr(args, "demo", False)
    path = args.db or history.default_path(demo=demo)
    if not (args.db or demo or path.exists()) and history.default_path(demo=True).exists():
        path = history.default_path(demo=True)  # right after `make demo`: its history
        print(
            "quota-tray: no history of your own yet: showing the demo's "
            "(warm your own with: quota-tray --project ID)",
            file=sys.stderr,
        )
    try:
        summary = history.stats(path, since)
        data = history.series(path, since) if args.plot else None
    except history.HistoryError as exc:
        print(f"quota-tray: {exc}", file=sys.stderr)
        return 3 if exc.reason == "missing" else 1
    if data is not None:
        t = _thresholds()
        try:
            write_user_chart(data, args.plot, t)
        except (OSError, ValueError) as exc:
            print(f"quota-tray: cannot write the chart {args.plot}: {exc}", file=sys.stderr)
            return 1
        summary["chart"] = os.fspath(args.plot)
    if args.json:
        print(json.dumps(summary, indent=2, ensure_ascii=False))
    else:
        print(format_summary(summary, since))
    return 0


def _thresholds() -> Thresholds:
    from trayapp import paths
    from trayapp.config import ConfigError, load

    try:
        return load(paths.config_file()).thresholds
    except ConfigError:
        return Thresholds()


def format_summary(s: dict[str, Any], since_s: float | None) -> str:
    """The summary a person reads in a terminal."""
    projects = ", ".join(s["projects"]) or "no project"
    lines = [f"History, {window_text(since_s)} ({projects})"]
    b = s["batch_ms"]
    lines.append(
        f"  batches   {s['batches']}: p50 {b['p50']:g} ms, p95 {b['p95']:g} ms, "
        f"max {b['max']:g} ms; {s['api_calls']} API calls"
    )
    shares = "  ".join(f"{Level(k).icon} {k} {v:.1%}" for k, v in s["levels"].items())
    lines.append(f"  levels    {shares}")
    fails = ", ".join(f"{k} {v}" for k, v in s["failures"].items())
    lines.append(f"  failures  {s['failed_batches']} batches" + (f" ({fails})" if fails else ""))
    cycles, c = s["cycles"], s["cycle_s"]
    per = s["api_calls_per_cycle"]
    text = f"{len(cycles)} complete" + (
        f", p50 {c['p50']:g} s, max {c['max']:g} s" if cycles else ""
    )
    lines.append(f"  cycles    {text}" + (f", {per:g} API calls per cycle" if per else ""))
    for number, cycle in list(enumerate(cycles, 1))[-5:]:  # in order: runs restart their ids
        at = time.strftime("%Y-%m-%d %H:%M", time.localtime(_epoch(cycle["at"])))
        lines.append(
            f"            #{number} done {at} in {cycle['duration_s']:g} s, "
            f"{cycle['api_calls']} calls, {cycle['failed']} failed"
        )
    for key, name in (("rewarms", "re-warms"), ("errors", "errors")):
        if s[key]:
            lines.append(f"  {name:<9} " + ", ".join(f"{k} {v}" for k, v in s[key].items()))
    if s.get("chart"):
        lines.append(f"  chart     {s['chart']}")
    return "\n".join(lines)


def _epoch(iso: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(iso).timestamp()
