"""The command line: subcommands, exit codes, and one-line errors at the boundary.

Exit codes: 0 success, 1 runtime failure, 2 bad usage or config, 3 nothing to show or running.
"""

from __future__ import annotations

import argparse
import os
import sys

from trayapp import __version__

TYPE_CHECKING = False  # typing and pathlib cost more to import than `show` takes to run
if TYPE_CHECKING:  # the subcommands import what they need when they run
    from collections.abc import Sequence
    from typing import Any, NoReturn

    from trayapp.config import Settings


class UsageError(Exception):
    """Bad command-line input: one line, exit 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(message)

    def _get_formatter(self) -> argparse.HelpFormatter:
        """argparse's, with the terminal's width found without importing shutil (which
        brings bz2 and lzma): every add_argument asks for a formatter."""
        return self.formatter_class(prog=self.prog, width=_columns() - 2)  # type: ignore[call-arg]

    def parse_args(self, args: Sequence[str] | None = None, namespace: object = None) -> Any:  # type: ignore[override]
        """argparse's; ``--since -1h`` is a value, and an unknown option names the closest."""
        given = list(sys.argv[1:] if args is None else args)
        valued = {o for a in self._actions if a.nargs is None for o in a.option_strings}
        for i in range(len(given) - 1, 0, -1):  # "-1h" after --since: its value
            if given[i][:1] == "-" and given[i][1:2].isdigit() and given[i - 1] in valued:
                given[i - 1 : i + 1] = [f"{given[i - 1]}={given[i]}"]
        parsed, extra = self.parse_known_args(given, namespace)  # type: ignore[arg-type]
        if extra:
            from trayapp.settings import names

            others = {n: command_parser(n)._option_string_actions for n in COMMANDS}
            others.pop(self.prog.rpartition(" ")[2], None)
            raise UsageError(names.unknown_option(extra, self._option_string_actions, others))
        return parsed


def _columns() -> int:
    """``shutil.get_terminal_size().columns``: $COLUMNS, else the terminal's, else 80."""
    try:
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        columns = 0
    if columns > 0:
        return columns
    try:
        return os.get_terminal_size(sys.__stdout__.fileno()).columns or 80  # type: ignore[union-attr]
    except (AttributeError, ValueError, OSError):
        return 80


def _number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number: {text!r}")
    return value


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
    "request": "ask Google for more of one quota (a QuotaPreference)",
    "requests": "the quota increase requests followed, with state and age (no network)",
    "emulator": "run the Compute API emulator",
}


RUNNERS = {
    "show": ("trayapp.show", "show"),
    "tui": ("trayapp.tui.launch", "tui"),
    "stats": ("trayapp.stats", "stats_command"),
    "request": ("trayapp.requests.command", "request"),
    "requests": ("trayapp.requests.listing", "requests_command"),
    "emulator": ("trayapp.emulator.cli", "run_from_args"),
}
HELP_EPILOG = (
    "With no command, quota-tray runs `run`:\n"
    "  quota-tray --project P    is    quota-tray run --project P"
)


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser: ``--help``, ``--version`` and the list of commands. Each command
    has a parser of its own (:func:`command_parser`), so none pays for the others' options."""
    width = max(map(len, COMMANDS)) + 2
    listing = "\n".join(f"  {name:<{width}}{text}" for name, text in COMMANDS.items())
    parser = _Parser(
        prog="quota-tray",
        usage="quota-tray [-h] [--version] [COMMAND] [OPTIONS]",
        description="Keeps GPU and C3 quota answers warm.",
        epilog=f"commands (quota-tray COMMAND --help for its options):\n{listing}\n\n"
        + HELP_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"quota-tray {__version__}")
    return parser


def command_parser(name: str) -> argparse.ArgumentParser:
    """The parser of one command, as ``quota-tray NAME`` reads it."""
    parser = _Parser(prog=f"quota-tray {name}", description=COMMANDS[name])
    parser.set_defaults(command=name)
    from trayapp.settings.options import add_options

    add_options(name, parser, _number)
    return parser


def _one_line_errors() -> tuple[type[Exception], ...]:
    """Errors that are one line and exit 2 (evaluated only when something was raised)."""
    from trayapp.config import ConfigError

    return (UsageError, ConfigError, ValueError)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or (argv[0].startswith("-") and argv[0] not in ("-h", "--help", "--version")):
        argv.insert(0, "run")
    try:
        if argv[0] in COMMANDS:  # only this command's parser: no other command's options
            args = command_parser(argv[0]).parse_args(argv[1:])
        elif argv[0].startswith("-"):
            args = build_parser().parse_args(argv)  # --help, --version: exits
        else:
            from trayapp.settings import names

            raise UsageError(names.unknown("command", argv[0], COMMANDS))
        command = args.command or "run"
        if command in RUNNERS:  # module, function(args)
            import importlib

            return getattr(importlib.import_module(RUNNERS[command][0]), RUNNERS[command][1])(args)
        if command in ("status", "rewarm", "pause", "resume", "quit"):
            from trayapp import control

            return control.client_command(
                command, getattr(args, "json", False), demo=getattr(args, "demo", False)
            )
        if command == "autostart":
            from trayapp.autostart import autostart_command

            return autostart_command(args.action, args.project)
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


def warm(args: argparse.Namespace, *, demo: bool) -> int:
    """``run`` and ``demo``: one instance per user, reachable over the control channel."""
    import contextlib
    import time

    from trayapp import app, control, instance
    from trayapp.settings.flags import check_rewarm, demo_settings, settings_from, source_recipe
    from trayapp.sources.fetcher.source import HelperSource

    first = settings_from(args)  # a bad config is exit 2 before anything else happens
    # the demo has a lock and a control channel of its own: it runs beside a real instance
    wanted = tuple(args.project or ()) if demo else first.projects
    lock = instance.claim(
        instance.lock_directory(demo),
        lambda: control.live_pid(demo=demo),
        demo=demo,
        note=lambda: control.warms_others(wanted, demo),
    )  # "already running" is exit 0
    if not isinstance(lock, instance.InstanceLock):
        return lock
    with contextlib.ExitStack() as cleanup:
        cleanup.callback(lock.release)
        endpoint = emulator = None
        if demo:
            from trayapp.emulator.server import Emulator

            emulator = Emulator.demo(args.speed)
            endpoint = emulator.start()
            cleanup.callback(emulator.stop)

        def complete(settings: Settings) -> Settings:
            """The file and flags, plus the demo's emulator and the project to warm."""
            if emulator is not None:  # its Cloud Monitoring, when a quota reads usage there
                services = {settings.gpu_service, settings.c3_service}
                limits_only = services.union(x.service for x in settings.launches) - {"compute"}
                monitoring = emulator.start_monitoring() if limits_only else None
                settings = demo_settings(settings, args, endpoint, monitoring)
            settings = check_rewarm(settings)
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
        source = HelperSource(source_recipe(settings))
        try:
            runtime = app.Runtime(settings, source, app.Files.default(demo=demo), load_settings)
        except OSError as exc:  # a folder owned by someone else, a file we may not use
            from trayapp.safety.files import os_error_line

            print(f"quota-tray: {os_error_line(exc)}", file=sys.stderr)
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
