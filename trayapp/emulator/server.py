"""The local emulator: Compute (regions, projects, advice) and Cloud Quotas (QuotaInfos,
QuotaPreferences) over HTTP, Cloud Monitoring over gRPC (``monitoring``), loopback only unless
told, so the real Google clients run with no account or network. Here: the lifecycle, the
request log and one request's path through faults and latency (sockets: ``transport``; answers:
``answers``, ``quotas``, ``preferences``, ``advice``). Standard library only (``monitoring``
imports grpc when it starts)."""

from __future__ import annotations

import contextlib
import json
import re
import socket
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from urllib.parse import parse_qs, urlsplit

from trayapp.emulator import advice, answers, preferences, quotas
from trayapp.emulator.data import FAULT_TARGETS, KNOWN_REGIONS, expected_quotas
from trayapp.emulator.faults import Fault, FaultSet, Latency, error_body, parse_fault
from trayapp.emulator.monitoring import MonitoringServer
from trayapp.emulator.routes import route_of
from trayapp.emulator.transport import (
    MAX_CONNECTIONS,
    MAX_REQUEST_BODY,
    EmulatorHandler,
    EmulatorServer,
    EmulatorServer6,
    RequestRecord,
    send_huge,
    send_trickle,
)
from trayapp.sources.base import is_loopback_host
from trayapp.sources.quota_project import HEADER

__all__ = ["KNOWN_REGIONS", "MAX_CONNECTIONS", "MAX_REQUEST_BODY", "Emulator", "expected_quotas"]


NO_GPUS = "demo-no-gpus"  # the demo's project without project-wide GPU quota


class Emulator:
    """``start()`` returns its base URL; ``stop()`` is prompt, even with hung requests, and
    closes every socket. Faults and latency may be changed while running."""

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
        page_limit: int | None = quotas.PAGE_SIZE,
        project_quotas: Mapping[str, Mapping[str, tuple[float, float]]] | None = None,
        require_quota_project: bool = False,
        monitoring: bool = True,
    ) -> None:
        if not allow_remote and not is_loopback_host(host):
            why = "serves loopback only (pass allow_remote=True / --allow-remote to expose it)"
            raise ValueError(f"refusing to listen on {host}: the emulator {why}")
        self.host, self.port = host, port
        # region name -> a Region body captured from the live API, served verbatim instead
        self.captured = dict(captured) if captured is not None else None
        self.family_default = family_default  # the GPU family quota's catch-all entry, if any
        self.page_limit = page_limit  # most QuotaInfos on a list page (None: as the client asks)
        self.project_quotas = dict(project_quotas or {})  # project -> metric -> (limit, usage)
        # refuse a Cloud Quotas request without a quota project, as Google does for user logins
        self.require_quota_project = require_quota_project
        self.preferences = preferences.PreferenceStore()  # quota requests written, in memory
        self.latency = latency if isinstance(latency, Latency) else Latency(ms=latency or 0)
        parsed = (parse_fault(f, FAULT_TARGETS) if isinstance(f, str) else f for f in faults)
        self.faults = FaultSet(parsed)
        self._log: list[RequestRecord] = []
        self._received = 0  # requests received, each once (a hung one too)
        self._log_changed = threading.Condition()
        self._stopping = threading.Event()
        self._connections: set[socket.socket] = set()
        self._conn_lock = threading.Lock()
        self._server: EmulatorServer | None = None
        self._thread: threading.Thread | None = None
        self._url: str | None = None
        self._monitoring, self.monitoring = monitoring, MonitoringServer(self)  # gRPC, own port

    @classmethod
    def demo(cls, speed: float = 1.0) -> Emulator:
        """The demo's: latencies through every level, a project ``demo-no-gpus`` whose
        GPUS_ALL_REGIONS is 0, requests granted at the second list; Cloud Monitoring only once
        asked (``start_monitoring``): grpc stays out of the tray's process unless needed."""
        latency = Latency.demo(scale=1 / speed)
        made = cls(
            latency=latency,
            project_quotas={NO_GPUS: {"GPUS_ALL_REGIONS": (0, 0)}},
            monitoring=False,
        )
        made.preferences = preferences.PreferenceStore(outcome="granted", after=2)
        return made

    @property
    def url(self) -> str:
        if self._url is None:
            raise RuntimeError("the emulator is not started")
        return self._url

    @property
    def monitoring_url(self) -> str:
        """``http://127.0.0.1:PORT``: Cloud Monitoring, plain gRPC (``--monitoring-endpoint``)."""
        return self.monitoring.url or ""

    def start_monitoring(self) -> str:  # Cloud Monitoring now (a no-op when it runs); its URL
        self._monitoring = True
        if self._server is not None and not self.monitoring.url:
            self.monitoring.start()
        return self.monitoring_url

    @property
    def open_connections(self) -> int:
        """Client connections currently open (busy or idle keep-alive)."""
        with self._conn_lock:
            return len(self._connections)

    def start(self) -> str:
        if self._server is not None:
            return self.url
        server_class = EmulatorServer6 if ":" in self.host else EmulatorServer
        server = server_class((self.host, self.port), EmulatorHandler)
        server.serve, server.track = self._serve, self._track
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
        if self._monitoring:
            self.monitoring.start()
        return self._url

    def stop(self) -> None:
        """Stop serving: hung and delayed requests are dropped unanswered, sockets closed."""
        server, self._server = self._server, None
        if server is None:
            return
        self._stopping.set()
        self.faults.release_hangs()
        self.monitoring.stop()
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

    @property
    def received(self) -> int:
        """HTTP requests received so far, each counted once: what a client's count of the
        requests it sent is checked against (the log shows a hung request twice)."""
        with self._log_changed:
            return self._received

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

    def _serve(self, handler: EmulatorHandler) -> None:
        started, wall = time.monotonic(), time.time()
        with self._log_changed:
            self._received += 1
        url = urlsplit(handler.path)
        route = route_of(url.path)  # faults aimed at its target (or at every region) hit it
        project, region, quota_route, asks = route.project, route.target, route.quota, route.asks
        billed = (handler.headers.get(HEADER) or "").strip()[:200] or None

        def record(status: int | str, fault: Fault | None) -> None:
            action = fault.action if fault else None
            what = (handler.command, handler.path, project, region)
            self._record(RequestRecord(started, wall, *what, status, action, billed))

        fault = None
        if project is None:
            status, body = 404, error_body(404, "notFound", f"The URL {url.path} was not found.")
        elif handler.command not in route.methods:
            status, body = 405, error_body(405, "methodNotAllowed", "Only GET is served here.")
        elif route.regional and region is not None and region not in self._regions():
            status, body = 404, Fault.http(404).error_body(project, region)
        elif (quota_route or asks) and billed is None and self.require_quota_project:
            status, body = 403, quotas.no_quota_project()
        else:
            fault, release = self.faults.take(project, region)
            if fault is not None and fault.action == "hang":
                record("hang", fault)
                release.wait()  # until the fault is cleared or the emulator stops
                fault = None
            if self._stopping.wait(self.latency.delay_ms(region) / 1000):
                handler.close_connection = True  # stopping: drop the request unanswered
                return
            status, body = self._answer(
                handler,
                project=project,
                region=region,
                fault=fault,
                quota=quota_route,
                asks=asks,
                billed=billed,
            )
        raw = json.dumps(body).encode()
        if fault is not None and fault.action == "broken_body":
            raw = raw[: len(raw) // 2]
        record(status, fault)  # before the answer: a client that has it finds it logged
        if fault is not None and fault.action == "huge_body":
            send_huge(handler, fault.size, self._stopping)
            return
        if fault is not None and fault.action == "trickle":
            send_trickle(handler, status, raw, self._stopping)
            return
        handler.send_json(status, raw)

    def _answer(
        self,
        handler: EmulatorHandler,
        *,
        project: str,
        region: str | None,
        fault: Fault | None,
        quota: re.Match[str] | None,
        asks: re.Match[str] | None,
        billed: str | None,
    ) -> tuple[int, dict[str, object]]:
        """The answer to a request that drew ``fault`` (None: none), once latency has passed."""
        query = parse_qs(urlsplit(handler.path).query)
        if advised := advice.ROUTE.match(urlsplit(handler.path).path):  # advice.capacity
            return advice.answer(project, advised.group(2), handler.body, fault)
        if asks and fault is not None and fault.action == "http":
            return fault.status, quotas.fault_body(fault.status, fault.reason, project, billed)
        if asks:
            pid, raw = asks.group(2), handler.body
            return self.preferences.answer(handler.command, project, pid, query, raw)
        return answers.answer(
            self.url,
            project,
            region,
            query,
            fault=fault,
            quota=quota,
            captured=self.captured,
            family_default=self.family_default,
            page_limit=self.page_limit,
            project_quotas=self.project_quotas,
            billed=billed,
            preferences=self.preferences,  # a granted request changes what is served
        )
