"""``quota-tray emulator``: its options, and serving until a signal."""

from __future__ import annotations

import argparse
import signal
import sys
import threading

from trayapp.emulator.data import FAULT_TARGETS
from trayapp.emulator.faults import SPEC_HELP, Latency, parse_fault
from trayapp.emulator.server import Emulator


def _port(text: str) -> int:
    if not text.isdigit() or not 0 <= int(text) <= 65535:
        raise argparse.ArgumentTypeError(f"a port is a number from 0 to 65535, not {text!r}")
    return int(text)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``quota-tray emulator``."""
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (loopback)")
    parser.add_argument("--port", type=_port, default=0, help="port; 0 picks a free one (default)")
    parser.add_argument(
        "--profile",
        choices=("fixed", "heavy-tail", "demo"),
        default="fixed",
        help="latency profile: fixed delay, lognormal with a long tail around "
        "the median --latency-ms, or the demo sequence that visits every level",
    )
    parser.add_argument(
        "--latency-ms",
        type=float,
        default=None,
        help="delay (fixed, default 0) or median (heavy-tail, default 200)",
    )
    parser.add_argument(
        "--scale", type=float, default=1.0, help="multiply every delay (0.05 runs 20x faster)"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the heavy-tail draws")
    parser.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="SPEC",
        help=f"inject a fault (repeatable): {SPEC_HELP}".replace("%", "%%"),
    )
    parser.add_argument(
        "--require-quota-project",
        action="store_true",
        help="refuse a Cloud Quotas request without x-goog-user-project, as Google refuses a "
        "user login with no quota project (403 SERVICE_DISABLED, billed to the Cloud SDK)",
    )
    parser.add_argument(
        "--allow-remote",
        action="store_true",
        help="allow a non-loopback --host (anyone who can reach it may use it)",
    )


def run_from_args(args: argparse.Namespace, stop: threading.Event | None = None) -> int:
    """Serve until SIGINT/SIGTERM (or ``stop`` is set). ValueError for bad options."""
    default_ms = {"fixed": 0.0, "heavy-tail": 200.0, "demo": 0.0}[args.profile]
    ms = default_ms if args.latency_ms is None else args.latency_ms
    latency = Latency(args.profile, ms, scale=args.scale, seed=args.seed)
    faults = [parse_fault(spec, FAULT_TARGETS) for spec in args.fault]
    emulator = Emulator(
        args.host,
        args.port,
        latency,
        faults,
        allow_remote=args.allow_remote,
        require_quota_project=args.require_quota_project,
    )
    stop = stop or threading.Event()
    previous = {}
    for signum in (signal.SIGINT, signal.SIGTERM):
        try:
            previous[signum] = signal.signal(signum, lambda *_: stop.set())
        except ValueError:  # not the main thread: only ``stop`` ends it
            break
    try:
        try:
            url = emulator.start()
        except OSError as exc:  # a busy port, an address not ours
            where = f"{args.host}:{args.port}"
            print(f"quota-tray: cannot listen on {where}: {exc.strerror or exc}", file=sys.stderr)
            return 1
        print(
            f"Compute API emulator at {url} (profile {args.profile}, {len(faults)} faults); "
            "Ctrl+C stops it",
            flush=True,
        )
        while not stop.wait(0.5):  # a timed wait lets signal handlers run on every platform
            pass
    finally:
        emulator.stop()
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    return 0
