"""The command line: subcommands, exit codes, and one-line errors at the boundary.

Exit codes: 0 success, 1 runtime failure, 2 bad usage or config, 3 nothing to show or running.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

from trayapp import __version__, cache, paths
from trayapp.config import ConfigError, Settings, check_endpoint
from trayapp.config import load as load_config
from trayapp.levels import Thresholds

DEMO_PROJECT = "demo-project"


class UsageError(Exception):
    """Bad command-line input: one line, exit 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


def _number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number: {text!r}")
    return value


def _warm_options(p: argparse.ArgumentParser, *, endpoint: bool) -> None:
    p.add_argument("--headless", action="store_true", help="no tray: progress on the terminal")
    p.add_argument("--once", action="store_true", help="one full warm cycle, then exit")
    p.add_argument("--project", action="append", metavar="ID", help="project (repeatable)")
    if endpoint:
        p.add_argument("--endpoint", metavar="URL", help="Compute API base URL")
    p.add_argument("--config", type=Path, metavar="PATH", help="config file")
    p.add_argument("--interval", type=_number, metavar="S", help="seconds between batches")
    p.add_argument("--rewarm", type=_number, metavar="S", help="seconds between re-warms")
    p.add_argument("--timeout", type=_number, metavar="S", help="per-request timeout")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="quota-tray", description="Keeps GPU and C3 quota answers warm.")
    parser.add_argument("--version", action="version", version=f"quota-tray {__version__}")
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)
    _warm_options(sub.add_parser("run", help="warm the cache, with a tray icon"), endpoint=True)
    demo = sub.add_parser("demo", help="the same against the built-in emulator")
    _warm_options(demo, endpoint=False)
    demo.add_argument(
        "--speed",
        type=_number,
        default=1.0,
        metavar="N",
        help="run N times faster: latency, interval and thresholds scaled",
    )
    show = sub.add_parser("show", help="print the cache (no network)")
    show.add_argument("--project", metavar="ID")
    show.add_argument("--json", action="store_true")
    show.add_argument(
        "--max-age",
        type=_number,
        metavar="S",
        help="seconds a value stays fresh (default: what the warmer wrote, else 1800)",
    )
    show.add_argument("--demo", action="store_true", help="the demo's cache")
    tui = sub.add_parser("tui", help="the terminal view of the cache (needs the extra 'tui')")
    tui.add_argument("--project", metavar="ID", help="only this project")
    tui.add_argument("--demo", action="store_true", help="the demo's cache")
    status = sub.add_parser("status", help="state of the running instance")
    status.add_argument("--json", action="store_true")
    for command, text in (
        ("rewarm", "start a re-warm now"),
        ("pause", "pause warming"),
        ("resume", "resume warming"),
        ("quit", "stop the running instance"),
    ):
        sub.add_parser(command, help=text)
    from trayapp import autostart, stats
    from trayapp.sources import emulator

    stats.add_stats_arguments(sub.add_parser("stats", help="batch timing statistics"))
    autostart.add_autostart_arguments(sub.add_parser("autostart", help="start at login"))
    emulator.add_arguments(sub.add_parser("emulator", help="run the Compute API emulator"))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or (argv[0].startswith("-") and argv[0] not in ("-h", "--help", "--version")):
        argv.insert(0, "run")
    try:
        args = build_parser().parse_args(argv)
        command = args.command or "run"
        if command == "show":
            return show(args)
        if command == "tui":
            return tui(args)
        if command in ("status", "rewarm", "pause", "resume", "quit"):
            from trayapp import control

            return control.client_command(command, getattr(args, "json", False))
        if command == "stats":
            from trayapp.stats import stats_command

            return stats_command(args)
        if command == "autostart":
            from trayapp.autostart import autostart_command

            return autostart_command(args.action)
        if command == "emulator":
            from trayapp.sources import emulator

            return emulator.run_from_args(args)
        return warm(args, demo=command == "demo")
    except (UsageError, ConfigError, ValueError) as exc:
        print(f"quota-tray: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `quota-tray show | head`: quiet, like other tools
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


def settings_from(args: argparse.Namespace) -> Settings:
    config_path = args.config or paths.config_file()
    settings = load_config(config_path, required=args.config is not None)
    endpoint = getattr(args, "endpoint", None)
    return settings.with_overrides(
        projects=args.project,
        interval_s=args.interval,
        rewarm_s=args.rewarm,
        timeout_s=args.timeout,
        endpoint=check_endpoint(endpoint) if endpoint else None,
    )


def warm(args: argparse.Namespace, *, demo: bool) -> int:
    """``run`` and ``demo``: one instance per user, reachable over the control channel."""
    from trayapp import app, control, instance
    from trayapp.sources.compute import ComputeSource

    first = settings_from(args)  # a bad config is exit 2 before anything else happens
    lock = instance.acquire_or_explain()
    if lock is None:
        return 1
    with contextlib.ExitStack() as cleanup:
        cleanup.callback(lock.release)
        endpoint = None
        if demo:
            from trayapp.sources.emulator import Emulator
            from trayapp.sources.emulator_faults import Latency

            emulator = Emulator(latency=Latency.demo(scale=1 / args.speed))
            endpoint = emulator.start()
            cleanup.callback(emulator.stop)

        def complete(settings: Settings) -> Settings:
            """The file and flags, plus the demo's emulator and the project to warm."""
            if demo:
                settings = _demo_settings(settings, args, endpoint)
            projects = app.resolve_projects(settings, detect=True)
            if not projects:
                raise UsageError(
                    "no project: pass --project ID, set projects in config.toml, "
                    "or set GOOGLE_CLOUD_PROJECT"
                )
            return settings.with_overrides(projects=list(projects))

        def load_settings() -> Settings:  # what SIGHUP re-reads
            return complete(settings_from(args))

        settings = complete(first)
        source = ComputeSource(settings.endpoint, timeout_s=settings.timeout_s)
        runtime = app.Runtime(settings, source, app.Files.default(demo=demo), load_settings)
        server = control.serve(
            control.runtime_handlers(runtime, runtime.quit_requested.set, time.monotonic()),
            on_error=runtime.filelog.error,
        )
        if server is not None:
            cleanup.callback(server.stop)
        return app.run(runtime, headless=args.headless or args.once, once=args.once)
    return 1  # not reached: the with-block returns


def _demo_settings(settings: Settings, args: argparse.Namespace, endpoint: str | None) -> Settings:
    """The demo project against the emulator, with time scaled by ``--speed``."""
    speed, t = args.speed, settings.thresholds
    return settings.with_overrides(
        projects=args.project or [DEMO_PROJECT],
        endpoint=endpoint,
        interval_s=settings.interval_s / speed,
        thresholds=Thresholds(t.warn_ms / speed, t.slowish_ms / speed, t.slow_ms / speed),
    )


TUI_MISSING = "quota-tray: the terminal view needs Textual: pip install 'quota-tray[tui]'"


def tui(args: argparse.Namespace) -> int:
    """``tui``: Textual is imported only here, so no other command pays for it."""
    try:
        from trayapp.tui.app import QuotaApp
    except ModuleNotFoundError as exc:
        if (exc.name or "").partition(".")[0] not in ("textual", "rich"):
            raise
        print(TUI_MISSING, file=sys.stderr)
        return 2
    from trayapp.app import Files

    app = QuotaApp(Files.default(demo=args.demo).cache, [args.project] if args.project else None)
    app.run()
    return app.return_code or 0


def show(args: argparse.Namespace) -> int:
    from trayapp.app import Files

    path = Files.default(demo=args.demo).cache
    try:
        snap = cache.load(path)
    except cache.CacheError as exc:
        print(f"quota-tray: {exc}", file=sys.stderr)
        return 3
    projects = [args.project] if args.project else snap.projects
    if args.project and args.project not in snap.projects:
        print(f"quota-tray: project {args.project!r} is not in {path}", file=sys.stderr)
        return 3
    now = time.time()
    max_age = args.max_age or snap.max_age_s
    if args.json:
        out = {p: _project_json(snap, p, max_age, now) for p in projects}
        print(json.dumps({"written_at": snap.written_at, "projects": out}, indent=2))
        return 0
    for project in projects:
        _print_table(snap, project, max_age, now)
    return 0


def _project_json(snap: cache.Snapshot, project: str, max_age: float, now: float) -> Any:
    return {
        "warm": snap.is_warm(project, max_age, now),
        "complete": snap.is_complete(project, max_age, now),
        "cycle": snap.cycle(project),
        "checks": [{**c, "fresh": cache.is_fresh(c, max_age, now)} for c in snap.checks(project)],
    }


def _age(check: dict[str, Any], now: float) -> str:
    try:
        seconds = max(0, int(now - cache.parse_time(check["fetched_at"] or "")))
    except ValueError:
        return "-"
    return (
        f"{seconds}s"
        if seconds < 120
        else f"{seconds // 60}m"
        if seconds < 7200
        else f"{seconds // 3600}h"
    )


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:g}"


def _print_table(snap: cache.Snapshot, project: str, max_age: float, now: float) -> None:
    cycle = snap.cycle(project)
    state = (
        "complete"
        if snap.is_complete(project, max_age, now)
        else "warm"
        if snap.is_warm(project, max_age, now)
        else "cold"
    )
    print(f"{project}: {state}, cycle {cycle['id']} {cycle['done']}/{cycle['total']}")
    rows = [("REGION", "METRIC", "LIMIT", "USAGE", "AGE", "STATUS")]
    for c in snap.checks(project):
        status = (
            c["status"]
            if cache.is_fresh(c, max_age, now) or c["status"] not in ("ok", "absent")
            else f"{c['status']} (stale)"
        )
        rows.append(
            (c["region"], c["metric"], _num(c["limit"]), _num(c["usage"]), _age(c, now), status)
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
