"""The emulator's Cloud Monitoring: ``google.monitoring.v3.MetricService/ListTimeSeries`` over
gRPC on its own loopback port (google-cloud-monitoring speaks gRPC only), beside the HTTP
server.

It answers as Google documents: the filter's ``metric.type``, ``resource.type`` and label
clauses, the interval (points whose end time falls in it), the view, and pages
(``pageSize``/``pageToken``). Its series stand for every project alike: usage below the limit
for some quotas, equal to it for one, a point hours old for one, none for Vertex AI A100s (so
"no point" is met); Cloud Build's C3 CPUs also for another build origin, which a filter on
``build_origin`` must leave out. Faults aimed at ``monitoring`` hit it (403, 404, 429, hang),
and the quota-project rule holds as for Cloud Quotas. grpc and Monitoring's messages are
imported when the server starts, never at import of the package.
"""

from __future__ import annotations

import re
import time
from typing import Any, NamedTuple

from trayapp.sources.quota_project import HEADER
from trayapp.sources.usage import ALLOCATION_USAGE, CONSUMER_QUOTA

TARGET = "monitoring"  # fault target: 403@monitoring, 403:SERVICE_DISABLED@monitoring, hang@...
SERVICE = "google.monitoring.v3.MetricService"
PAGE_SIZE = 100  # series on one page at most, whatever the client asks
VERTEX = "aiplatform.googleapis.com"
C3_BUILD = "cloudbuild.googleapis.com/quota/concurrent_private_pool_c3_build_cpus/usage"
C3_LIMIT = "ConcurrentPrivatePoolC3BuildCpusPerProjectPerRegion"


class Series(NamedTuple):
    """One time series: its metric type and labels, resource type and labels, and its points
    as (value, age in seconds), newest first."""

    metric_type: str
    metric_labels: dict[str, str]
    resource_type: str
    resource_labels: dict[str, str]
    points: tuple[tuple[float, float], ...]


def _vertex(
    location: str, quota: str, limit: str, points: tuple[tuple[float, float], ...]
) -> Series:
    return Series(
        ALLOCATION_USAGE,
        {"quota_metric": f"{VERTEX}/{quota}", "limit_name": limit},
        CONSUMER_QUOTA,
        {"service": VERTEX, "location": location, "resource_container": "0"},
        points,
    )


def _build(location: str, origin: str, points: tuple[tuple[float, float], ...]) -> Series:
    return Series(
        C3_BUILD,
        {"limit_name": C3_LIMIT, "build_origin": origin},
        "cloudbuild.googleapis.com/Location",
        {"location": location, "resource_container": "0"},
        points,
    )


T4 = "CustomModelTrainingT4GPUsPerProjectPerRegion"
H100 = "CustomModelTrainingH100GPUsPerProjectPerRegion"
SPOT_CPUS = "CustomModelTrainingPreemptibleCPUsPerProjectPerRegion"
# Limits (emulator/quota_data.py): T4 us-central1 16, H100 us-central1 16 and europe-west4 24,
# Spot CPUs us-central1 448, Cloud Build C3 us-central1 176 (build_origin default).
SERIES: tuple[Series, ...] = (
    _vertex("us-central1", "custom_model_training_nvidia_t4_gpus", T4, ((12, 180), (4, 7200))),
    _vertex("us-central1", "custom_model_training_nvidia_h100_gpus", H100, ((16, 600),)),
    _vertex("europe-west4", "custom_model_training_nvidia_h100_gpus", H100, ((8, 7200),)),
    _vertex("us-central1", "custom_model_training_preemptible_cpus", SPOT_CPUS, ((96, 300),)),
    _build("us-central1", "default", ((88, 120), (176, 3600))),
    _build("us-central1", "trigger", ((500, 60),)),
)

_CLAUSE = re.compile(r'^\s*([a-z_.]+)\s*=\s*"([^"]*)"\s*$')


def parse_filter(text: str) -> dict[str, str] | None:
    """``metric.type = "x" AND resource.labels.service = "y"`` -> {"metric.type": "x", ...};
    None for anything else (the emulator's subset of Monitoring's filter language)."""
    clauses: dict[str, str] = {}
    for part in re.split(r"\s+AND\s+", text.strip()):
        found = _CLAUSE.match(part)
        if not found:
            return None
        clauses[found.group(1)] = found.group(2)
    return clauses if "metric.type" in clauses else None


def _matches(series: Series, clauses: dict[str, str]) -> bool:
    for key, value in clauses.items():
        if key == "metric.type":
            got: str | None = series.metric_type
        elif key == "resource.type":
            got = series.resource_type
        elif key.startswith(("metric.labels.", "metric.label.")):
            got = series.metric_labels.get(key.rpartition(".")[2])
        elif key.startswith(("resource.labels.", "resource.label.")):
            got = series.resource_labels.get(key.rpartition(".")[2])
        else:
            return False
        if got != value:
            return False
    return True


def select(
    clauses: dict[str, str],
    start: float,
    end: float,
    now: float,
    table: tuple[Series, ...] = SERIES,
) -> list[tuple[Series, list[tuple[float, float]]]]:
    """The series the filter names, each with its points (value, end time) in [start, end],
    newest first; a series with none left is not answered (as Monitoring does)."""
    chosen = []
    for series in table:
        if _matches(series, clauses):
            points = [(v, now - age) for v, age in series.points if start < now - age <= end]
            if points:
                chosen.append((series, points))
    return chosen


class MonitoringServer:
    """The gRPC server. ``start()`` returns ``http://host:port``; ``stop()`` is prompt."""

    def __init__(self, emulator: Any) -> None:
        self.emulator = emulator  # its host, faults, stopping event and quota-project rule
        self.host = emulator.host
        self._server: Any = None
        self.url: str | None = None
        self.billed: list[str | None] = []  # the quota project of every request, in order
        self.page_limit = PAGE_SIZE  # series on one page at most (tests make it small)
        self.series = SERIES  # what it answers (tests add hostile ones)

    def start(self) -> str:
        from concurrent.futures import ThreadPoolExecutor

        import grpc
        from google.cloud.monitoring_v3 import types

        handler = grpc.unary_unary_rpc_method_handler(
            self._list,
            request_deserializer=types.ListTimeSeriesRequest.deserialize,
            response_serializer=types.ListTimeSeriesResponse.serialize,
        )
        generic = grpc.method_handlers_generic_handler(SERVICE, {"ListTimeSeries": handler})
        server = grpc.server(ThreadPoolExecutor(8, thread_name_prefix="monitoring-emulator"))
        server.add_generic_rpc_handlers((generic,))
        where = f"[{self.host}]" if ":" in self.host else self.host
        port = server.add_insecure_port(f"{where}:0")
        server.start()
        self._server, self.url = server, f"http://{where}:{port}"
        return self.url

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.stop(grace=0).wait(5)

    def _list(self, request: Any, context: Any) -> Any:
        import grpc
        from google.cloud.monitoring_v3 import types

        project = str(request.name).removeprefix("projects/")
        metadata = dict(context.invocation_metadata())
        billed = (metadata.get(HEADER) or "").strip()[:200] or None
        self.billed.append(billed)
        if billed is None and self.emulator.require_quota_project:
            _abort(context, 403, "SERVICE_DISABLED", "projects/764086051850")  # the SDK's
        fault, release = self.emulator.faults.take(project, TARGET)
        if fault is not None and fault.action == "hang":
            release.wait()
            fault = None
        if self.emulator._stopping.is_set():
            context.abort(grpc.StatusCode.UNAVAILABLE, "the emulator is stopping")
        if fault is not None and fault.action == "http":
            _abort(context, fault.status, fault.reason, f"projects/{project}")
        clauses = parse_filter(request.filter)
        if clauses is None:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "Could not parse filter")
        now = time.time()
        start = request.interval.start_time.timestamp() if request.interval.start_time else 0
        end = request.interval.end_time.timestamp()
        chosen = select(clauses, start, end, now, self.series)
        size = min(request.page_size or self.page_limit, self.page_limit)
        first = int(request.page_token or 0)
        page = chosen[first : first + size]
        return types.ListTimeSeriesResponse(
            time_series=[_series(s, points, request.view) for s, points in page],
            next_page_token=str(first + size) if first + size < len(chosen) else "",
        )


def _series(series: Series, points: list[tuple[float, float]], view: Any) -> Any:
    from google.cloud.monitoring_v3 import types

    headers_only = int(view) == int(types.ListTimeSeriesRequest.TimeSeriesView.HEADERS)
    return types.TimeSeries(
        metric={"type": series.metric_type, "labels": series.metric_labels},
        resource={"type": series.resource_type, "labels": series.resource_labels},
        metric_kind="GAUGE",
        value_type="INT64",
        points=[]
        if headers_only
        else [
            {
                "interval": {"end_time": {"seconds": int(at), "nanos": int(at % 1 * 1e9)}},
                "value": {"double_value": value}
                if isinstance(value, float)  # a float value is sent as a double
                else {"int64_value": value},
            }
            for value, at in points
        ],
    )


_CODES = {403: "PERMISSION_DENIED", 404: "NOT_FOUND", 429: "RESOURCE_EXHAUSTED"}
_MESSAGES = {
    "SERVICE_DISABLED": "Cloud Monitoring API has not been used in project {p} before or it "
    "is disabled.",
    "IAM_PERMISSION_DENIED": "Permission monitoring.timeSeries.list denied (or the resource "
    "may not exist).",
}


def _abort(context: Any, status: int, reason: str, where: str) -> None:
    """End the call with Google's status: the code, a message, and an ErrorInfo with the
    reason (as ``grpc-status-details-bin``)."""
    from google.protobuf import any_pb2
    from google.rpc import code_pb2, error_details_pb2, status_pb2
    from grpc_status import rpc_status

    name = _CODES.get(status, "UNAVAILABLE" if status >= 500 else "INVALID_ARGUMENT")
    if status == 403 and reason in ("", "forbidden"):
        reason = "IAM_PERMISSION_DENIED"
    project = where.removeprefix("projects/")
    message = _MESSAGES.get(reason, f"Request failed: {reason or name}.").format(p=project)
    info = error_details_pb2.ErrorInfo(
        reason=reason or name,
        domain="googleapis.com",
        metadata={"service": "monitoring.googleapis.com", "consumer": where},
    )
    detail = any_pb2.Any()
    detail.Pack(info)
    code = getattr(code_pb2, name)
    status_message = status_pb2.Status(code=code, message=message, details=[detail])
    context.abort_with_status(rpc_status.to_status(status_message))
