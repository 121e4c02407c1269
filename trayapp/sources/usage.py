"""Which Cloud Monitoring time series carry the usage of a limit-only quota, and which point
answers a given check.

Cloud Quotas gives Vertex AI training and Cloud Build private pool quotas as limits only; Cloud
Monitoring publishes their usage. An allocation quota's usage is the gauge
``serviceruntime.googleapis.com/quota/allocation/usage`` on the monitored resource
``consumer_quota`` (labels ``resource.service``, ``resource.location``,
``metric.quota_metric``, ``metric.limit_name``); a concurrent quota's is its service's own
metric where one is published (Cloud Build:
``cloudbuild.googleapis.com/quota/concurrent_private_pool_c3_build_cpus/usage``, labels
``limit_name``, ``build_origin``), else ``serviceruntime.googleapis.com/quota/concurrent/usage``.
A gauge is written again only when it changes, so a request looks back ``WINDOW_S`` (over a
day) and keeps the newest point per location. Sources: docs/sources.md. Standard library
only: the warmer and the emulator use this, and its values cross a process pipe.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

ALLOCATION_USAGE = "serviceruntime.googleapis.com/quota/allocation/usage"
CONCURRENT_USAGE = "serviceruntime.googleapis.com/quota/concurrent/usage"
CONSUMER_QUOTA = "consumer_quota"  # the monitored resource of the serviceruntime metrics
CLOUDBUILD = "cloudbuild.googleapis.com"
WINDOW_S = 25 * 3600  # a gauge re-reported only on change: a day and an hour back
SOURCE = "monitoring"  # the cache's ``usage_source`` for a usage Monitoring gave
# Short service names of the plan and the cache -> the API's service name.
SERVICES = {
    "vertex": "aiplatform.googleapis.com",
    "cloudbuild": CLOUDBUILD,
    "compute": "compute.googleapis.com",
}
# Dimensions a Monitoring point stands for although it carries no label for them: Cloud
# Build's series are asked for ``build_origin = "default"`` only (see ``series_filter``).
IMPLIED = {CLOUDBUILD: {"build_origin": "default"}}


class UsageRequest(NamedTuple):
    """One ListTimeSeries: a service's usage of one metric type, every location at once."""

    service: str  # "aiplatform.googleapis.com"
    metric_type: str  # the Monitoring metric type
    window_s: int


class UsagePoint(NamedTuple):
    """The newest point of one (location, quota metric, limit) series."""

    location: str
    quota_metric: str
    limit_name: str
    value: float
    at: float  # epoch seconds of the point's end time


def service_of(service: str, quota_metric: str = "") -> str:
    """``aiplatform.googleapis.com`` from a short name, an API name or the quota metric."""
    if service in SERVICES:
        return SERVICES[service]
    if "." in service:
        return service
    return quota_metric.partition("/")[0]


def metric_type(service: str, quota_metric: str, concurrent: bool) -> str:
    """The metric type carrying a quota's usage: Cloud Build's own for its concurrent quotas,
    else the Service Infrastructure metric of the quota's kind."""
    if concurrent and service == CLOUDBUILD:
        return f"{CLOUDBUILD}/quota/{quota_metric.rpartition('/')[2]}/usage"
    return CONCURRENT_USAGE if concurrent else ALLOCATION_USAGE


def _get(check: Any, name: str) -> Any:
    if isinstance(check, Mapping):
        return check.get(name)
    return getattr(check, name, None)


def usage_requests(checks: Iterable[Any], window_s: int = WINDOW_S) -> list[UsageRequest]:
    """The requests that answer ``checks`` (mappings or objects with ``service``,
    ``quota_metric`` and ``concurrent``, as the QuotaInfo said): one per service and metric
    type, in first-seen order. A check without a quota metric needs none."""
    wanted: dict[tuple[str, str], UsageRequest] = {}
    for check in checks:
        quota_metric = str(_get(check, "quota_metric") or "")
        if not quota_metric:
            continue
        service = service_of(str(_get(check, "service") or ""), quota_metric)
        kind = metric_type(service, quota_metric, bool(_get(check, "concurrent")))
        wanted.setdefault((service, kind), UsageRequest(service, kind, int(window_s)))
    return list(wanted.values())


def series_filter(request: UsageRequest) -> str:
    """The ListTimeSeries filter of a request (Monitoring's filter syntax)."""
    parts = [f'metric.type = "{request.metric_type}"']
    if request.metric_type.startswith("serviceruntime.googleapis.com/"):
        parts += [
            f'resource.type = "{CONSUMER_QUOTA}"',
            f'resource.labels.service = "{request.service}"',
        ]
    for key, value in IMPLIED.get(request.service, {}).items():
        parts.append(f'metric.labels.{key} = "{value}"')
    return " AND ".join(parts)


def usage_for(
    service: str,
    quota_metric: str,
    region: str,
    dimensions: Mapping[str, str] | None,
    points: Iterable[UsagePoint],
) -> UsagePoint | None:
    """The point carrying the usage of the check (``service``, ``quota_metric``, ``region``,
    the dimensions it wants): the newest of its quota metric in its region. None when there
    is none, or when the check wants a dimension Monitoring's points do not tell apart (the
    Compute GPU family quota's ``gpu_family``): a usage of another family is no usage."""
    implied = IMPLIED.get(service_of(service, quota_metric), {})
    for key, value in (dimensions or {}).items():
        if key != "region" and implied.get(key) != value:
            return None
    best: UsagePoint | None = None
    for point in points:
        mine = point.quota_metric == quota_metric and point.location == region
        if mine and (best is None or point.at > best.at):
            best = point
    return best


def newest(points: Iterable[UsagePoint]) -> list[UsagePoint]:
    """One point per (location, quota metric, limit name): the newest."""
    kept: dict[tuple[str, str, str], UsagePoint] = {}
    for point in points:
        key = (point.location, point.quota_metric, point.limit_name)
        if key not in kept or point.at > kept[key].at:
            kept[key] = point
    return sorted(kept.values())


def quota_metric_of(request: UsageRequest, labels: Mapping[str, str]) -> str:
    """The quota metric a series is about: its ``quota_metric`` label, else (a service's own
    metric, ``<service>/quota/<name>/usage``) the one its type names."""
    named = labels.get("quota_metric")
    if named:
        return str(named)
    if not request.metric_type.startswith("serviceruntime.googleapis.com/"):
        name = request.metric_type.removesuffix("/usage").rpartition("/quota/")[2]
        return f"{request.service}/{name}"
    return ""
