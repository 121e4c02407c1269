"""A local HTTP emulator of the Compute Engine regions API (and of Cloud Quotas' GPU family
QuotaInfo, see ``emulator_quotas``).

Serves ``GET /compute/v1/projects/{p}/regions/{r}`` and the paged region list the way
compute.googleapis.com does, so the real google-cloud-compute client can be exercised (and the
app demonstrated) with no account and no network: deterministic quotas, latency profiles and
injected faults. Standard library only; listens on loopback unless told otherwise.
"""

from __future__ import annotations

import contextlib
import json
import re
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from trayapp.sources import emulator_quotas as quotas
from trayapp.sources.base import is_loopback_host
from trayapp.sources.emulator_data import (
    FAULT_TARGETS,
    KNOWN_REGIONS,
    _region_json,
    expected_quotas,
)
from trayapp.sources.emulator_faults import (
    TRICKLE_GAP_S,
    Fault,
    FaultSet,
    Latency,
    error_body,
    parse_fault,
)

__all__ = ["KNOWN_REGIONS", "Emulator", "RequestRecord", "expected_quotas"]


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


MAX_REQUEST_BODY = 64 * 1024  # the API is read-only: no request needs a body
MAX_CONNECTIONS = 64  # connection threads at once
_ROUTE = re.compile(r"^/compute/v1/projects/([^/]+)/regions(?:/([^/]+))?/?$")


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    server_version = "quota-tray-emulator/1"
    timeout = 60  # idle keep-alive connections
    # headers and body go out in two writes: with Nagle on, each answer on a kept-alive
    # connection would wait ~40 ms for the client's delayed ACK, a floor under every batch
    disable_nagle_algorithm = True

    def setup(self) -> None:
        super().setup()
        self.server.emulator._track(self.connection, add=True)

    def finish(self) -> None:
        self.server.emulator._track(self.connection, add=False)
        super().finish()

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the request log is the record."""

    def do_GET(self) -> None:
        self.server.emulator._serve(self)

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
        self.rfile.read(int(declared))
        self.server.emulator._serve(self)

    do_POST = do_PUT = do_PATCH = do_DELETE = do_other

    def send_json(self, status: int, payload: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=UTF-8")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


class _Server(ThreadingHTTPServer):
    """One thread per connection, at most MAX_CONNECTIONS: beyond that a connection is closed
    at once (the client retries or fails), never a thread more."""

    daemon_threads = True
    emulator: Emulator
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


class _Server6(_Server):
    address_family = socket.AF_INET6


class Emulator:
    """The emulator server. ``start()`` returns its base URL; ``stop()`` is prompt, even with
    hung requests, and closes every socket. Faults and latency may be changed while running."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        latency: Latency | float | None = None,
        faults: Iterable[Fault | str] = (),
        allow_remote: bool = False,
        *,
        captured: Mapping[str, dict[str, object]] | None = None,
        family_default: float | None = None,
    ) -> None:
        if not allow_remote and not is_loopback_host(host):
            raise ValueError(
                f"refusing to listen on {host}: the emulator serves loopback only "
                "(pass allow_remote=True / --allow-remote to expose it)"
            )
        self.host, self.port = host, port
        # region name -> a Region body captured from the live API, served verbatim instead
        self.captured = dict(captured) if captured is not None else None
        self.family_default = family_default  # the GPU family quota's catch-all entry, if any
        self.latency = latency if isinstance(latency, Latency) else Latency(ms=latency or 0)
        self.faults = FaultSet(
            parse_fault(f, FAULT_TARGETS) if isinstance(f, str) else f for f in faults
        )
        self._log: list[RequestRecord] = []
        self._log_changed = threading.Condition()
        self._stopping = threading.Event()
        self._connections: set[socket.socket] = set()
        self._conn_lock = threading.Lock()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._url: str | None = None

    @property
    def url(self) -> str:
        if self._url is None:
            raise RuntimeError("the emulator is not started")
        return self._url

    @property
    def open_connections(self) -> int:
        """Client connections currently open (busy or idle keep-alive)."""
        with self._conn_lock:
            return len(self._connections)

    def start(self) -> str:
        if self._server is not None:
            return self.url
        server_class = _Server6 if ":" in self.host else _Server
        server = server_class((self.host, self.port), _Handler)
        server.emulator = self
        server.slots = threading.BoundedSemaphore(MAX_CONNECTIONS)
        self._server, self._stopping = server, threading.Event()
        port = server.server_address[1]
        self._url = (
            f"http://[{self.host}]:{port}" if ":" in self.host else f"http://{self.host}:{port}"
        )
        self._thread = threading.Thread(
            target=server.serve_forever, args=(0.05,), name="compute-emulator", daemon=True
        )
        self._thread.start()
        return self._url

    def stop(self) -> None:
        """Stop serving: hung and delayed requests are dropped unanswered, sockets closed."""
        server, self._server = self._server, None
        if server is None:
            return
        self._stopping.set()
        self.faults.release_hangs()
        server.shutdown()
        server.server_close()
        with self._conn_lock:
            for conn in self._connections:
                with contextlib.suppress(OSError):
                    conn.shutdown(socket.SHUT_RDWR)
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> Emulator:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def add_fault(self, fault: Fault | str) -> Fault:
        """Inject a fault (a Fault or a spec like ``503@us-east1#2``) for the next requests."""
        return self.faults.add(
            parse_fault(fault, FAULT_TARGETS) if isinstance(fault, str) else fault
        )

    def clear_faults(self) -> None:
        """Remove every fault; hung requests then get a normal answer."""
        self.faults.clear()

    def requests(self, reset: bool = False) -> list[RequestRecord]:
        """A copy of the request log; ``reset`` empties it."""
        with self._log_changed:
            records = list(self._log)
            if reset:
                self._log.clear()
            return records

    def wait_for_requests(
        self, predicate: Callable[[list[RequestRecord]], bool], timeout: float = 5.0
    ) -> bool:
        """Wait until ``predicate(log)`` holds; False if it still does not after ``timeout``."""
        with self._log_changed:
            return self._log_changed.wait_for(lambda: predicate(list(self._log)), timeout)

    def _record(self, record: RequestRecord) -> None:
        with self._log_changed:
            self._log.append(record)
            self._log_changed.notify_all()

    def _track(self, conn: socket.socket, add: bool) -> None:
        with self._conn_lock:
            (self._connections.add if add else self._connections.discard)(conn)

    def _regions(self) -> Iterable[str]:
        return KNOWN_REGIONS if self.captured is None else self.captured

    def _serve(self, handler: _Handler) -> None:
        started, wall = time.monotonic(), time.time()
        url = urlsplit(handler.path)
        route = _ROUTE.match(url.path)
        project, region = route.groups() if route else (None, None)
        quota_route = quotas.ROUTE.match(url.path)
        if quota_route:  # faults aimed at "cloudquotas" (or at every region) hit it
            project, region = quota_route.group(1), quotas.QUOTAS_TARGET

        def record(status: int | str, fault: Fault | None) -> None:
            action = fault.action if fault else None
            self._record(
                RequestRecord(
                    started, wall, handler.command, handler.path, project, region, status, action
                )
            )

        fault = None
        if project is None:
            status, body = 404, error_body(404, "notFound", f"The URL {url.path} was not found.")
        elif handler.command != "GET":
            status, body = 405, error_body(405, "methodNotAllowed", "Only GET is served here.")
        elif not quota_route and region is not None and region not in self._regions():
            status, body = 404, Fault.http(404).error_body(project, region)
        else:
            fault, release = self.faults.take(project, region)
            if fault is not None and fault.action == "hang":
                record("hang", fault)
                release.wait()  # until the fault is cleared or the emulator stops
                fault = None
            if self._stopping.wait(self.latency.delay_ms(region) / 1000):
                handler.close_connection = True  # stopping: drop the request unanswered
                return
            status, body = self._answer(project, region, parse_qs(url.query), fault, quota_route)
        raw = json.dumps(body).encode()
        if fault is not None and fault.action == "broken_body":
            raw = raw[: len(raw) // 2]
        record(status, fault)  # before the answer: a client that has it finds it logged
        if fault is not None and fault.action == "huge_body":
            self._huge(handler, fault.size)
            return
        if fault is not None and fault.action == "trickle":
            self._trickle(handler, status, raw)
            return
        handler.send_json(status, raw)

    def _huge(self, handler: _Handler, size: int) -> None:
        """A valid Region of ``size`` bytes, made as it is sent: it never sits in our memory."""
        head, tail = b'{"kind": "compute#region", "name": "huge", "description": "', b'"}'
        handler.close_connection = True
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json; charset=UTF-8")
        handler.send_header("Content-Length", str(size))
        handler.end_headers()
        handler.wfile.write(head)
        left, chunk = size - len(head) - len(tail), b"x" * 65536
        while left > 0 and not self._stopping.is_set():
            handler.wfile.write(chunk[:left])
            left -= len(chunk)
        handler.wfile.write(tail)

    def _trickle(self, handler: _Handler, status: int, raw: bytes) -> None:
        """The whole answer, a byte at a time: every read gets data, the answer never ends."""
        handler.close_connection = True
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json; charset=UTF-8")
        handler.send_header("Content-Length", str(len(raw)))
        handler.end_headers()
        handler.wfile.flush()
        for i in range(len(raw)):
            if self._stopping.wait(TRICKLE_GAP_S):
                return
            handler.wfile.write(raw[i : i + 1])
            handler.wfile.flush()

    def _answer(
        self,
        project: str,
        region: str | None,
        query: dict[str, list[str]],
        fault: Fault | None,
        quota: re.Match[str] | None = None,
    ) -> tuple[int, dict[str, object]]:
        if quota is not None:
            if fault is not None and fault.action == "http":
                return fault.status, quotas.fault_body(fault.status, fault.reason, project)
            return quotas.quota_info(project, *quota.groups()[1:], self.family_default)
        if fault is not None and fault.action == "http":
            return fault.status, fault.error_body(project, region)
        with_quotas = fault is None or fault.action != "no_quotas"
        if region is not None:
            if self.captured is not None:
                return 200, self.captured[region]
            return 200, _region_json(self.url, project, region, with_quotas)
        names = sorted(KNOWN_REGIONS)
        try:
            size = int(query.get("maxResults", ["500"])[0])
            start = int(query.get("pageToken", ["0"])[0] or "0")
        except ValueError:
            size = start = -1
        if not (0 < size <= 500 and 0 <= start <= len(names)):
            return 400, error_body(400, "invalid", "Invalid value for maxResults or pageToken.")
        page = names[start : start + size]
        body: dict[str, object] = {
            "kind": "compute#regionList",
            "id": f"projects/{project}/regions",
            "items": [_region_json(self.url, project, r, with_quotas) for r in page],
            "selfLink": f"{self.url}/compute/v1/projects/{project}/regions",
        }
        if start + size < len(names):
            body["nextPageToken"] = str(start + size)
        return 200, body
