"""The emulator's HTTP plumbing: a bounded threading server and its request handler.

Kept apart from :mod:`trayapp.emulator.server` so what is answered reads apart from how bytes
reach the socket: keep-alive, body limits, the connection cap, and the two deliberately bad
ways of sending (a huge body, a trickle). Standard library only.
"""

from __future__ import annotations

import json
import socket
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from trayapp.emulator.faults import TRICKLE_GAP_S, error_body

__all__ = [
    "MAX_CONNECTIONS",
    "MAX_REQUEST_BODY",
    "EmulatorHandler",
    "EmulatorServer",
    "EmulatorServer6",
    "RequestRecord",
    "send_huge",
    "send_trickle",
]

MAX_REQUEST_BODY = 64 * 1024  # a QuotaPreference is the only body asked for: a few hundred bytes
MAX_CONNECTIONS = 64  # connection threads at once


@dataclass(frozen=True)
class RequestRecord:
    """One request as the emulator saw it. ``status`` is the HTTP status sent, or "hang" when
    the request started hanging (if the fault is then cleared, its answer is logged again)."""

    monotonic: float
    wall: float
    method: str
    path: str
    project: str | None
    region: str | None
    status: int | str
    fault: str | None = None
    quota_project: str | None = None  # the x-goog-user-project header, when one was sent


class EmulatorHandler(BaseHTTPRequestHandler):
    """One connection; every request is passed to the server's ``serve``."""

    server: EmulatorServer
    protocol_version = "HTTP/1.1"
    server_version = "quota-tray-emulator/1"
    timeout = 60  # idle keep-alive connections
    # headers and body go out in two writes: with Nagle on, each answer on a kept-alive
    # connection would wait ~40 ms for the client's delayed ACK, a floor under every batch
    disable_nagle_algorithm = True

    def setup(self) -> None:
        super().setup()
        self.server.track(self.connection, True)

    def finish(self) -> None:
        self.server.track(self.connection, False)
        super().finish()

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the request log is the record."""

    def do_GET(self) -> None:
        self.body = b""
        self.server.serve(self)

    def do_other(self) -> None:
        """Any other method: the body is read (keep-alive stays sound), then 404 or 405.

        A body over MAX_REQUEST_BODY (or a length that is not a number) is never read: 413 or
        400, and the connection is closed."""
        declared = self.headers.get("Content-Length") or "0"
        if not declared.isdigit() or int(declared) > MAX_REQUEST_BODY:
            self.close_connection = True
            status = 400 if not declared.isdigit() else 413
            text = "Bad Content-Length." if status == 400 else "Request body too large."
            self.send_json(status, json.dumps(error_body(status, "invalid", text)).encode())
            return
        self.body = self.rfile.read(int(declared))
        self.server.serve(self)

    do_POST = do_PUT = do_PATCH = do_DELETE = do_other

    def send_json(self, status: int, payload: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=UTF-8")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


class EmulatorServer(ThreadingHTTPServer):
    """One thread per connection, at most MAX_CONNECTIONS: beyond that a connection is closed
    at once (the client retries or fails), never a thread more. ``serve`` answers a request;
    ``track`` hears of each connection opened (True) and closed (False)."""

    daemon_threads = True
    serve: Callable[[EmulatorHandler], None]
    track: Callable[[socket.socket, bool], None]
    slots: threading.BoundedSemaphore

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self.slots.acquire(blocking=False):
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self.slots.release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self.slots.release()

    def handle_error(self, request: object, client_address: object) -> None:
        """A client that gave up (timed out, closed) is normal here, not worth a traceback."""
        if not isinstance(sys.exc_info()[1], ConnectionError | TimeoutError):
            super().handle_error(request, client_address)


class EmulatorServer6(EmulatorServer):
    address_family = socket.AF_INET6


def send_huge(handler: EmulatorHandler, size: int, stopping: threading.Event) -> None:
    """A valid Region of ``size`` bytes, made as it is sent: it never sits in our memory."""
    head, tail = b'{"kind": "compute#region", "name": "huge", "description": "', b'"}'
    handler.close_connection = True
    handler.send_response(200)
    handler.send_header("Content-Type", "application/json; charset=UTF-8")
    handler.send_header("Content-Length", str(size))
    handler.end_headers()
    handler.wfile.write(head)
    left, chunk = size - len(head) - len(tail), b"x" * 65536
    while left > 0 and not stopping.is_set():
        handler.wfile.write(chunk[:left])
        left -= len(chunk)
    handler.wfile.write(tail)


def send_trickle(
    handler: EmulatorHandler, status: int, raw: bytes, stopping: threading.Event
) -> None:
    """The whole answer, a byte at a time: every read gets data, the answer never ends."""
    handler.close_connection = True
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json; charset=UTF-8")
    handler.send_header("Content-Length", str(len(raw)))
    handler.end_headers()
    handler.wfile.flush()
    for i in range(len(raw)):
        if stopping.wait(TRICKLE_GAP_S):
            return
        handler.wfile.write(raw[i : i + 1])
        handler.wfile.flush()
