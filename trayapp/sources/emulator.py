"""A local HTTP emulator of the Compute Engine regions API.

Serves ``GET /compute/v1/projects/{p}/regions/{r}`` and the paged region list the way
compute.googleapis.com does, so the real google-cloud-compute client can be exercised (and the
app demonstrated) with no account and no network: deterministic quotas, latency profiles and
injected faults. Standard library only; listens on loopback unless told otherwise.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import random
import re
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from trayapp.plan import DEFAULT_C3_REGIONS
from trayapp.sources.base import is_loopback_host
from trayapp.sources.emulator_faults import (
    HUGE_ANSWER_BYTES,
    SPEC_HELP,
    TRICKLE_GAP_S,
    Fault,
    FaultSet,
    Latency,
    error_body,
    parse_fault,
)

# The regions the emulator answers for; any other region gets a 404 like a misspelt one.
KNOWN_REGIONS = (*DEFAULT_C3_REGIONS, "asia-east1", "asia-south1", "europe-north1", "me-west1")
_ZONES = {"us-central1": "abcf", "us-east1": "bcd", "europe-west1": "bcd"}

# metric -> limit choices. Regions list ~45 metrics, GPU ones only where the GPU exists.
_LIMITS: dict[str, tuple[float, ...]] = {
    "CPUS": (24, 72, 96, 200, 500),
    "PREEMPTIBLE_CPUS": (0, 24, 200),
    "COMMITTED_CPUS": (0, 0, 32),
    **dict.fromkeys(("C2_CPUS", "C2D_CPUS", "C3D_CPUS", "N2_CPUS"), (0, 24, 48, 96, 200)),
    **dict.fromkeys(("N2D_CPUS", "A2_CPUS", "M1_CPUS", "E2_CPUS"), (0, 24, 48, 96)),
    "C3_CPUS": (0, 8, 24, 44, 88, 176),
    "DISKS_TOTAL_GB": (4096, 10240, 40960, 102400),
    "SSD_TOTAL_GB": (500, 2048, 10240),
    "LOCAL_SSD_TOTAL_GB": (3000, 6000, 9000),
    "PREEMPTIBLE_LOCAL_SSD_GB": (0, 3000),
    "IN_USE_ADDRESSES": (8, 16, 69, 100),
    "STATIC_ADDRESSES": (8, 21, 100),
    "INSTANCES": (6000,),
    "INSTANCE_GROUPS": (100,),
    "INSTANCE_GROUP_MANAGERS": (50,),
    "REGIONAL_INSTANCE_GROUP_MANAGERS": (50,),
    "AUTOSCALERS": (50,),
    "REGIONAL_AUTOSCALERS": (20,),
    "TARGET_POOLS": (50,),
    "NETWORK_ENDPOINT_GROUPS": (100,),
    "RESERVATIONS": (20,),
}
_GPUS = ("T4", "L4", "P4", "P100", "V100", "A100", "A100_80GB", "H100", "H100_MEGA", "H200")
for _gpu in _GPUS:
    _big = _gpu.startswith(("A100_80", "H"))
    _LIMITS[f"NVIDIA_{_gpu}_GPUS"] = (0, 0, 8, 16) if _big else (0, 1, 4, 8, 16)
    _LIMITS[f"PREEMPTIBLE_NVIDIA_{_gpu}_GPUS"] = (0, 4, 16, 64)
    _LIMITS[f"COMMITTED_NVIDIA_{_gpu}_GPUS"] = (0, 0, 8)
# GPU model -> the regions that have it; models not listed exist everywhere but in _LACKING.
_ONLY_IN = {
    "P4": "us-central1 us-east4 us-west2 europe-west4 asia-southeast1",
    "P100": "us-central1 us-east1 us-west1 europe-west1 europe-west4",
    "V100": "us-central1 us-west1 europe-west4 asia-east1",
    "A100": "us-central1 us-east4 us-west1 us-west3 us-west4 europe-west4 asia-northeast1 "
    "asia-southeast1 me-west1",
    "A100_80GB": "us-central1 us-east4 us-east5 europe-west4",
    "H100": "us-central1 us-east4 us-east5 us-west1 europe-west1 europe-west4 asia-northeast1 "
    "asia-southeast1",
    "H100_MEGA": "us-central1 us-east4 europe-west4",
    "H200": "us-central1 europe-west1",
}
_LACKING = {"T4": "us-east5 europe-west9", "L4": "us-west2 southamerica-east1", "C3": "me-west1"}


def _present(metric: str, region: str) -> bool:
    model = re.fullmatch(r"(?:PREEMPTIBLE_|COMMITTED_)?NVIDIA_(\w+)_GPUS|(C3)_CPUS", metric)
    if model is None:
        return True
    name = model.group(1) or model.group(2)
    if name in _ONLY_IN:
        return region in _ONLY_IN[name].split()
    return region not in _LACKING.get(name, "").split()


def expected_quotas(project: str, region: str) -> dict[str, tuple[float, float]]:
    """Every quota the emulator serves for one region: metric -> (limit, usage).

    Deterministic in (project, region, metric); KeyError for a region the emulator does not
    know (it answers 404 for those).
    """
    if region not in KNOWN_REGIONS:
        raise KeyError(f"the emulator does not know region {region!r}")
    quotas = {}
    for metric, choices in _LIMITS.items():
        if not _present(metric, region):
            continue
        rng = random.Random(f"{project}/{region}/{metric}")
        limit = float(rng.choice(choices))
        usage = 0.0 if rng.random() < 0.4 else float(rng.randint(0, int(limit)))
        if metric.endswith("_GB") and 0 < usage < limit:
            usage -= 0.5  # storage usage is not always whole gigabytes
        quotas[metric] = (limit, usage)
    return quotas


def _region_json(base: str, project: str, region: str, with_quotas: bool) -> dict[str, object]:
    number = int.from_bytes(hashlib.blake2b(region.encode(), digest_size=4).digest(), "big")
    prefix = f"{base}/compute/v1/projects/{project}"
    body: dict[str, object] = {
        "kind": "compute#region",
        "id": str(1000 + number % 9000),
        "creationTimestamp": "1969-12-31T16:00:00.000-08:00",
        "name": region,
        "description": region,
        "status": "UP",
        "zones": [f"{prefix}/zones/{region}-{z}" for z in _ZONES.get(region, "abc")],
        "selfLink": f"{prefix}/regions/{region}",
        "supportsPzs": False,
    }
    if with_quotas:
        body["quotas"] = [
            {"metric": m, "limit": lim, "usage": use}
            for m, (lim, use) in expected_quotas(project, region).items()
        ]
    else:
        body["quotaStatusWarning"] = {
            "code": "RESULT_INCOMPLETE",
            "message": "Quota information is temporarily unavailable for this region.",
            "data": [{"key": "region", "value": region}],
        }
    return body


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
        """Any other method: the body is read (keep-alive stays sound), then 404 or 405."""
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.server.emulator._serve(self)

    do_POST = do_PUT = do_PATCH = do_DELETE = do_other

    def send_json(self, status: int, payload: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=UTF-8")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    emulator: Emulator

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
    ) -> None:
        if not allow_remote and not is_loopback_host(host):
            raise ValueError(
                f"refusing to listen on {host}: the emulator serves loopback only "
                "(pass allow_remote=True / --allow-remote to expose it)"
            )
        self.host, self.port = host, port
        self.latency = latency if isinstance(latency, Latency) else Latency(ms=latency or 0)
        self.faults = FaultSet(
            parse_fault(f, KNOWN_REGIONS) if isinstance(f, str) else f for f in faults
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
            parse_fault(fault, KNOWN_REGIONS) if isinstance(fault, str) else fault
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

    def _serve(self, handler: _Handler) -> None:
        started, wall = time.monotonic(), time.time()
        url = urlsplit(handler.path)
        route = _ROUTE.match(url.path)
        project, region = route.groups() if route else (None, None)

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
        elif region is not None and region not in KNOWN_REGIONS:
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
            status, body = self._answer(project, region, parse_qs(url.query), fault)
        raw = json.dumps(body).encode()
        if fault is not None and fault.action == "broken_body":
            raw = raw[: len(raw) // 2]
        record(status, fault)  # before the answer: a client that has it finds it logged
        if fault is not None and fault.action == "trickle":
            self._trickle(handler, status, raw)
            return
        handler.send_json(status, raw)

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
        self, project: str, region: str | None, query: dict[str, list[str]], fault: Fault | None
    ) -> tuple[int, dict[str, object]]:
        if fault is not None and fault.action == "http":
            return fault.status, fault.error_body(project, region)
        with_quotas = fault is None or fault.action != "no_quotas"
        if region is not None:
            body = _region_json(self.url, project, region, with_quotas)
            if fault is not None and fault.action == "huge":  # a valid answer, far too long
                body["description"] = "x" * HUGE_ANSWER_BYTES
            return 200, body
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


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``quota-tray emulator``."""
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (loopback)")
    parser.add_argument("--port", type=int, default=0, help="port; 0 picks a free one (default)")
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
        "--allow-remote",
        action="store_true",
        help="allow a non-loopback --host (anyone who can reach it may use it)",
    )


def run_from_args(args: argparse.Namespace, stop: threading.Event | None = None) -> int:
    """Serve until SIGINT/SIGTERM (or ``stop`` is set). ValueError for bad options."""
    default_ms = {"fixed": 0.0, "heavy-tail": 200.0, "demo": 0.0}[args.profile]
    ms = default_ms if args.latency_ms is None else args.latency_ms
    latency = Latency(args.profile, ms, scale=args.scale, seed=args.seed)
    faults = [parse_fault(spec, KNOWN_REGIONS) for spec in args.fault]
    emulator = Emulator(args.host, args.port, latency, faults, allow_remote=args.allow_remote)
    stop = stop or threading.Event()
    previous = {}
    for signum in (signal.SIGINT, signal.SIGTERM):
        try:
            previous[signum] = signal.signal(signum, lambda *_: stop.set())
        except ValueError:  # not the main thread: only ``stop`` ends it
            break
    try:
        url = emulator.start()
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
