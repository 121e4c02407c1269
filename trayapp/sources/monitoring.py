"""Quota usage from Cloud Monitoring, through google-cloud-monitoring (gRPC: the library has no
REST transport).

One ``ListTimeSeries`` per service and metric type answers every location (``usage``). Like
the other sources: nothing of google or grpc is imported until the client is built (in the
fetcher process), a loopback endpoint (``http://127.0.0.1:PORT``, the emulator) gets a plain
channel and anonymous credentials, Google a secure channel and Application Default
Credentials; answers are capped in size and in pages, no request is retried by the library (the
warmer owns retries), every request carries its quota project, and every failure leaves as
``SourceError`` saying what a person must do.
"""

from __future__ import annotations

import math
import time
from typing import Any
from urllib.parse import urlsplit

from trayapp.safety.text import clean_line
from trayapp.sources import fixes
from trayapp.sources.base import SourceError
from trayapp.sources.compute import GoogleClientSource
from trayapp.sources.errors import classify
from trayapp.sources.quota_project import HEADER, choose, from_credentials
from trayapp.sources.usage import UsagePoint, UsageRequest, newest, quota_metric_of, series_filter

DEFAULT_MONITORING_ENDPOINT = "https://monitoring.googleapis.com"
PERMISSION = "monitoring.timeSeries.list"
ROLE = '"Monitoring Viewer" (roles/monitoring.viewer)'
PAGE_SIZE = 1000  # time series asked for on each page (the server may send fewer)
MAX_PAGES = 20  # pages read from one list at most: a list that never ends fails its call
MAX_SERIES = 5000  # series kept from one call; a flood is cut here
_MAX_NAME = 200


def monitoring_endpoint_for(quotas_endpoint: str | None, monitoring_endpoint: str | None) -> str:
    """The Monitoring endpoint in effect: as set; else, when Cloud Quotas is read from a
    loopback ``http://`` URL (the emulator), none (``""``: usage stays unknown rather than
    asking Google); else Google's."""
    if monitoring_endpoint:
        return monitoring_endpoint
    if quotas_endpoint and quotas_endpoint.startswith("http://"):
        return ""
    return DEFAULT_MONITORING_ENDPOINT


class MonitoringSource(GoogleClientSource):
    """Time series of quota usage. Safe to call from several threads at once."""

    LIBRARY = "google-cloud-monitoring"
    NAME = "Cloud Monitoring"

    def __init__(self, *args: Any, quota_project: str | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.quota_project = quota_project
        self.adc_quota_project: str | None = None

    def _client_class(self) -> Any:
        from google.cloud import monitoring_v3

        return monitoring_v3.MetricServiceClient

    def _build_client(self) -> Any:
        """A client on a channel of our own: plain on loopback, TLS to Google; either way
        with a ceiling on the size of an answer."""
        self.adc_quota_project = from_credentials()
        try:
            client_class = self._client_class()
            from google.cloud.monitoring_v3.services.metric_service.transports import (
                MetricServiceGrpcTransport,
            )
        except ImportError as exc:
            raise self.missing_library(exc) from exc
        options = [
            ("grpc.max_receive_message_length", self.max_answer_bytes),
            ("grpc.enable_retries", 0),
        ]
        parts = urlsplit(self.endpoint or DEFAULT_MONITORING_ENDPOINT)
        try:
            if self.anonymous:
                import grpc

                channel = grpc.insecure_channel(parts.netloc, options=options)
            else:
                host = f"{parts.hostname}:{parts.port or 443}"
                channel = MetricServiceGrpcTransport.create_channel(
                    host, credentials=self.credentials, options=options
                )
            return client_class(transport=MetricServiceGrpcTransport(channel=channel))
        except Exception as exc:
            raise classify(exc, f"{self.NAME} client set-up", self.timeout_s) from exc

    def billed_to(self, project: str) -> str:
        """The quota project of a request about ``project`` (``x-goog-user-project``)."""
        return choose(project, self.adc_quota_project, self.quota_project)

    def fetch_usage(self, project: str, request: UsageRequest) -> list[UsagePoint]:
        """The newest usage point per (location, quota metric, limit) of ``request``'s metric
        over its window, page by page; SourceError on failure."""
        where = f"{project}/{request.metric_type}"
        if not self.endpoint:
            raise SourceError(
                "unavailable",
                f"{where}: no Cloud Monitoring endpoint beside a loopback Cloud Quotas "
                "endpoint: pass --monitoring-endpoint (quota usage stays unknown)",
            )
        client = self._ready_client(where)
        now = time.time()
        ask = {
            "name": f"projects/{project}",
            "filter": series_filter(request),
            "interval": {
                "start_time": {"seconds": int(now - request.window_s)},
                "end_time": {"seconds": int(now) + 1},
            },
            "view": "FULL",
            "page_size": PAGE_SIZE,
        }
        metadata = ((HEADER, self.billed_to(project)),)
        try:
            self._sent()
            pager = client.list_time_series(
                request=ask, timeout=self.timeout_s, retry=None, metadata=metadata
            )
            return newest(self._read(pager, request, where))
        except Exception as exc:
            raise self._failed(client, explain(exc, project, self.timeout_s)) from exc

    def _read(self, pager: Any, request: UsageRequest, where: str) -> list[UsagePoint]:
        points: list[UsagePoint] = []
        tokens: set[str] = set()
        for number, page in enumerate(pager.pages, start=1):
            for series in page.time_series:
                point = _point(series, request)
                if point is not None:
                    points.append(point)
            token = str(page.next_page_token)
            if not token or len(points) >= MAX_SERIES:  # a flood is cut here
                return points[:MAX_SERIES]
            if token in tokens or number >= MAX_PAGES:
                why = "repeated a page token" if token in tokens else "did not end"
                raise SourceError(
                    "bad_response", f"{where}: the time series list {why} after {number} pages"
                )
            tokens.add(token)
            self._sent()
        return points


def _point(series: Any, request: UsageRequest) -> UsagePoint | None:
    """The newest point of one series as plain values; None for a series without one."""
    if not series.points:
        return None
    metric_labels = dict(series.metric.labels)
    resource_labels = dict(series.resource.labels)
    latest = max(series.points, key=lambda p: p.interval.end_time.timestamp())
    which = type(latest.value).pb(latest.value).WhichOneof("value")
    if which not in ("int64_value", "double_value"):
        return None
    value = float(getattr(latest.value, which))
    if not math.isfinite(value) or value < 0:  # no usage a person could read as such
        return None
    return UsagePoint(
        clean_line(resource_labels.get("location", ""), _MAX_NAME),
        clean_line(quota_metric_of(request, metric_labels), _MAX_NAME),
        clean_line(metric_labels.get("limit_name", ""), _MAX_NAME),
        value,
        float(latest.interval.end_time.timestamp()),
    )


def explain(exc: BaseException, project: str, timeout_s: float) -> SourceError:
    """``classify``, with what to do about a refusal: the API disabled, or the permission
    missing (with the role that grants it). gRPC's deadline is a timeout, not an outage."""
    from google.api_core.exceptions import DeadlineExceeded

    if isinstance(exc, DeadlineExceeded):
        return SourceError(
            "timeout", f"{project}/Cloud Monitoring: no answer within {timeout_s:g} s"
        )
    error = classify(exc, f"{project}/Cloud Monitoring", timeout_s)
    if error.kind != "permission":
        return error
    reason, _ = fixes.error_info(exc)
    if reason == "SERVICE_DISABLED":
        return SourceError(
            "permission",
            f"the Cloud Monitoring API is disabled for project {project}: run "
            f'"gcloud services enable monitoring.googleapis.com --project {project}" '
            "to see quota usage",
        )
    return SourceError(
        "permission",
        f"no permission {PERMISSION} on project {project}: grant the role {ROLE} "
        "to see quota usage",
    )
