"""The options of each command of the command line, added to its own parser (``cli``
builds one parser per command, so none pays for the others' options). Each command's module
is imported only when its parser is built."""

from __future__ import annotations

import argparse
from collections.abc import Callable


def add_options(name: str, p: argparse.ArgumentParser, number: Callable[[str], float]) -> None:
    """Add command ``name``'s options to its parser; ``number`` parses a positive number."""
    if name in ("run", "demo"):
        from trayapp.settings.flags import add_warm_options
    if name == "run":
        add_warm_options(p, number, endpoint=True)
    elif name == "demo":
        add_warm_options(p, number, endpoint=False)
        p.add_argument(
            "--speed",
            type=number,
            default=1.0,
            metavar="N",
            help="run N times faster: latency, interval and thresholds scaled",
        )
    elif name == "show":
        from trayapp.show import add_arguments

        add_arguments(p, number)
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
    elif name == "request":
        from trayapp.requests.command import add_arguments

        add_arguments(p, number)
    elif name == "requests":
        from trayapp.requests.listing import add_arguments

        add_arguments(p, number)
