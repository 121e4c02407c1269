"""The fetcher process: builds the real source from a recipe and answers calls over a pipe.

Runs in a process started with multiprocessing's spawn method, so it holds nothing of the tray
process but the recipe. Every call runs on a thread of its own (a batch fetches several regions
at once); answers go back as ``(call_id, True, result, requests)`` or ``(call_id, False, (kind,
message, trace), requests)``, ``requests`` being the HTTP requests the call sent: a SourceError
crosses as plain values, never as a pickled exception; a bug's traceback crosses as one
cleaned line (``trace``), for the tray's log.
The process ends when the pipe closes, when told to (``None``), or after a long idle spell.
"""

from __future__ import annotations

import os
import signal
import threading
from multiprocessing.connection import Connection
from typing import Any

from trayapp.sources.base import SourceError, internal_error
from trayapp.sources.compute import requests_on_thread
from trayapp.sources.recipe import SourceRecipe

IDLE_EXIT_S = 600.0  # a fetcher nobody has called for this long ends by itself
NOT_FORWARDED = frozenset({"close", "release"})  # the tray side decides the lifetime


def serve(conn: Connection, recipe: SourceRecipe, idle_exit_s: float = IDLE_EXIT_S) -> None:
    """The process's whole life: answer calls until the pipe closes or goes quiet."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C is the tray's to handle
    source = recipe.build()
    send_lock = threading.Lock()
    busy = threading.Semaphore(0)  # released once per finished call
    in_flight = 0

    def reply(message: tuple[int, bool, Any, int]) -> None:
        try:
            with send_lock:
                conn.send(message)
        except (OSError, ValueError):  # the tray side is gone: nobody to answer
            pass
        finally:
            busy.release()

    def run(call_id: int, method: str, args: tuple[Any, ...]) -> None:
        try:
            if method.startswith("_") or method in NOT_FORWARDED:
                raise SourceError("bad_response", f"the fetcher does not answer {method!r}")
            result = getattr(source, method)(*args)
        except SourceError as exc:
            reply((call_id, False, (exc.kind, exc.message, exc.trace), requests_on_thread()))
        except Exception as exc:  # a bug: said as itself, its traceback for the tray's log
            failure = internal_error(f"fetcher: {method}", exc)
            why = (failure.kind, failure.message, failure.trace)
            reply((call_id, False, why, requests_on_thread()))
        else:
            reply((call_id, True, result, requests_on_thread()))

    while True:
        while busy.acquire(blocking=False):
            in_flight -= 1
        try:
            if not conn.poll(idle_exit_s):
                if in_flight == 0:
                    break
                continue
            message = conn.recv()
        except (EOFError, OSError):
            break
        if message is None:
            break
        in_flight += 1
        threading.Thread(target=run, args=message, daemon=True, name="fetcher-call").start()
    source.close()
    os._exit(0)  # no interpreter tear-down: freeing 140 MB of modules one by one is slow


def report_project(conn: Connection) -> None:
    """A one-shot process: send the project of Application Default Credentials (or None)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    from trayapp.sources.compute import detect_project

    try:
        conn.send(detect_project())
    finally:
        conn.close()
