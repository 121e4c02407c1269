"""The command line: subcommands, exit codes, and one-line errors at the boundary.

Exit codes: 0 success, 1 runtime failure, 2 bad usage or config, 3 nothing to show or running.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from trayapp import __version__

if TYPE_CHECKING:  # the subcommands import what they need when they run
    from trayapp.config import Settings

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
        p.add_argument(
            "--quotas-endpoint",
            metavar="URL",
            help="Cloud Quotas API base URL (default: --endpoint when that is a loopback "
            "http:// URL, else Google's)",
        )
    p.add_argument("--config", type=Path, metavar="PATH", help="config file")
    p.add_argument("--interval", type=_number, metavar="S", help="seconds between batches")
    p.add_argument("--rewarm", type=_number, metavar="S", help="seconds between re-warms")
    p.add_argument("--timeout", type=_number, metavar="S", help="per-request timeout")
    p.add_argument("--gpu-service", choices=("compute", "vertex"), help="VMs or Vertex AI")
    p.add_argument("--spot", action="store_true", default=None, help="the Spot GPU quota")
    p.add_argument("--c3-service", choices=("compute", "cloudbuild"), help="VMs or Cloud Build")


COMMANDS = {
    "run": "warm the cache, with a tray icon",
    "demo": "the same against the built-in emulator",
    "show": "print the cache (no network): FREE per region, with filters",
    "tui": "the terminal view of the cache (needs the extra 'tui')",
    "status": "state of the running instance",
    "rewarm": "start a re-warm now",
    "pause": "pause warming",
    "resume": "resume warming",
    "quit": "stop the running instance",
    "stats": "batch timing statistics",
    "autostart": "start at login",
    "emulator": "run the Compute API emulator",
}


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser, with the options of ``command`` only (none for the top-level help), so a
    command never imports the modules that define the others' options."""
    parser = _Parser(prog="quota-tray", description="Keeps GPU and C3 quota answers warm.")
    parser.add_argument("--version", action="version", version=f"quota-tray {__version__}")
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)
    for name, text in COMMANDS.items():
        p = sub.add_parser(name, help=text, description=text)
        if command == name:
            _add_options(name, p)
    return parser


def _add_options(name: str, p: argparse.ArgumentParser) -> None:
    if name == "run":
        _warm_options(p, endpoint=True)
    elif name == "demo":
        _warm_options(p, endpoint=False)
        p.add_argument(
            "--speed",
            type=_number,
            default=1.0,
            metavar="N",
            help="run N times faster: latency, interval and thresholds scaled",
        )
    elif name == "show":
        from trayapp.show import add_arguments

        add_arguments(p, _number)
    elif name == "tui":
        p.add_argument("--project", metavar="ID", help="only this project")
        p.add_argument("--demo", action="store_true", help="the demo's cache")
    elif name in ("status", "rewarm", "pause", "resume", "quit"):
        if name == "status":
            p.add_argument("--json", action="store_true", help="machine-readable answer")
        p.add_argument(
            "--demo",
            action="store_true",
            help="the demo (`quota-tray demo`) even when quota-tray runs too "
            "(without it: quota-tray, else the demo when only the demo runs)",
        )
    elif name == "stats":
        from trayapp import stats

        stats.add_stats_arguments(p)
    elif name == "autostart":
        from trayapp import autostart

        autostart.add_autostart_arguments(p)
    elif name == "emulator":
        from trayapp.emulator import cli as emulator_cli

        emulator_cli.add_arguments(p)


def _one_line_errors() -> tuple[type[Exception], ...]:
    """Errors that are one line and exit 2 (evaluated only when something was raised)."""
    from trayapp.config import ConfigError

    return (UsageError, ConfigError, ValueError)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or (argv[0].startswith("-") and argv[0] not in ("-h", "--help", "--version")):
        argv.insert(0, "run")
    try:
        chosen = argv[0] if argv[0] in COMMANDS else None
        args = build_parser(chosen).parse_args(argv)
        command = args.command or "run"
        if command == "show":
            from trayapp.show import show

            return show(args)
        if command == "tui":
            from trayapp.tui.launch import tui

            return tui(args)
        if command in ("status", "rewarm", "pause", "resume", "quit"):
            from trayapp import control

            return control.client_command(
                command, getattr(args, "json", False), demo=getattr(args, "demo", False)
            )
        if command == "stats":
            from trayapp.stats import stats_command

            return stats_command(args)
        if command == "autostart":
            from trayapp.autostart import autostart_command

            return autostart_command(args.action, args.project)
        if command == "emulator":
            from trayapp.emulator import cli as emulator_cli

            return emulator_cli.run_from_args(args)
        return warm(args, demo=command == "demo")
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `quota-tray show | head`: quiet, like other tools
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as exc:
        if not isinstance(exc, _one_line_errors()):
            raise
        print(f"quota-tray: {exc}", file=sys.stderr)
        return 2


def settings_from(args: argparse.Namespace) -> Settings:
    from trayapp import paths
    from trayapp.config import check_endpoint
    from trayapp.config import load as load_config

    config_path = args.config or paths.config_file()
    settings = load_config(config_path, required=args.config is not None)
    endpoint = getattr(args, "endpoint", None)
    quotas_endpoint = getattr(args, "quotas_endpoint", None)
    return settings.with_overrides(
        projects=args.project,
        interval_s=args.interval,
        rewarm_s=args.rewarm,
        timeout_s=args.timeout,
        **{k: getattr(args, k, None) for k in ("gpu_service", "spot", "c3_service")},
        endpoint=check_endpoint(endpoint) if endpoint else None,
        quotas_endpoint=(
            check_endpoint(quotas_endpoint, "--quotas-endpoint") if quotas_endpoint else None
        ),
    )


def warm(args: argparse.Namespace, *, demo: bool) -> int:
    """``run`` and ``demo``: one instance per user, reachable over the control channel."""
    import contextlib
    import time

    from trayapp import app, control, instance
    from trayapp.sources.fetcher.source import HelperSource
    from trayapp.sources.recipe import SourceRecipe

    first = settings_from(args)  # a bad config is exit 2 before anything else happens
    # the demo has a lock and a control channel of its own: it runs beside a real instance
    lock = instance.claim(
        instance.lock_directory(demo), lambda: control.live_pid(demo=demo), demo=demo
    )  # "already running" is exit 0
    if not isinstance(lock, instance.InstanceLock):
        return lock
    with contextlib.ExitStack() as cleanup:
        cleanup.callback(lock.release)
        endpoint = None
        if demo:
            from trayapp.emulator.faults import Latency
            from trayapp.emulator.server import Emulator

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
        # Google's clients live in a fetcher process, only while a cycle needs them
        source = HelperSource(
            SourceRecipe(
                settings.endpoint,
                timeout_s=settings.timeout_s,
                quotas_endpoint=settings.cloudquotas_endpoint,
                prepare_compute=settings.plan().uses_compute,
            )
        )
        try:
            runtime = app.Runtime(settings, source, app.Files.default(demo=demo), load_settings)
        except OSError as exc:  # a folder owned by someone else, a file we may not use
            print(f"quota-tray: {_os_line(exc)}", file=sys.stderr)
            return 1
        server = control.serve(
            control.runtime_handlers(
                runtime, runtime.quit_requested.set, time.monotonic(), demo=demo
            ),
            instance.default_directory(demo),
            on_error=runtime.filelog.error,
        )
        if server is not None:
            cleanup.callback(server.stop)
        return app.run(runtime, headless=args.headless or args.once, once=args.once)


def _os_line(exc: OSError) -> str:
    """``<path>: <why>`` in one line, for a file or folder we cannot use."""
    from trayapp.safety.text import clean_line

    where = f"{exc.filename}: " if exc.filename else ""
    return clean_line(f"{where}{exc.strerror or exc}")


def _demo_settings(settings: Settings, args: argparse.Namespace, endpoint: str | None) -> Settings:
    """The demo project against the emulator, with time scaled by ``--speed``."""
    from trayapp.warming.levels import Thresholds

    speed, t = args.speed, settings.thresholds
    return settings.with_overrides(
        projects=args.project or [DEMO_PROJECT],
        endpoint=endpoint,
        quotas_endpoint=endpoint,  # the emulator serves both APIs
        interval_s=settings.interval_s / speed,
        thresholds=Thresholds(t.warn_ms / speed, t.slowish_ms / speed, t.slow_ms / speed),
    )
