"""Which quota a check reads, said the same way on every surface, and where to ask for more.

``Vertex AI training · Spot``, ``Cloud Build private pools``, ``Compute Engine VMs``: the
service and tier of a cache entry (entries written before services existed are Compute,
on-demand). Standard library only: the cache readers use this.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing costs `show` more than printing its table
if TYPE_CHECKING:
    from typing import Any

SERVICE_NAMES = {
    "compute": "Compute Engine VMs",
    "vertex": "Vertex AI training",
    "cloudbuild": "Cloud Build private pools",
}
API_NAMES = {
    "compute": "compute.googleapis.com",
    "vertex": "aiplatform.googleapis.com",
    "cloudbuild": "cloudbuild.googleapis.com",
}
CONSOLE_QUOTAS = "https://console.cloud.google.com/iam-admin/quotas"
POOL_VCPUS = (4, 8, 22, 44, 88, 176)  # c3-standard-N machine sizes a private pool can use


def service_of(check: dict[str, Any]) -> str:
    service = check.get("service")
    return service if service in SERVICE_NAMES else "compute"


def tier_of(check: dict[str, Any]) -> str:
    return "spot" if check.get("tier") == "spot" else "on-demand"


def quota_name(service: str, tier: str = "on-demand") -> str:
    """``Vertex AI training · Spot``; the tier is named only when it is Spot."""
    name = SERVICE_NAMES.get(service, SERVICE_NAMES["compute"])
    return f"{name} · Spot" if tier == "spot" else name


def check_quota(check: dict[str, Any]) -> str:
    """The quota a cache entry reads, in words."""
    return quota_name(service_of(check), tier_of(check))


def short_label(check: dict[str, Any], short_metric: str) -> str:
    """``H100 Spot, Vertex AI training``; ``T4`` alone for on-demand Compute VMs."""
    service, tier = service_of(check), tier_of(check)
    name = f"{short_metric} Spot" if tier == "spot" else short_metric
    return name if service == "compute" else f"{name}, {SERVICE_NAMES[service]}"


def request_url(project: str, check: dict[str, Any]) -> str:
    """The console's quotas page for the project, filtered to the check's service, metric
    and region (the filters follow the console's documented query parameters)."""
    from urllib.parse import quote

    service = API_NAMES[service_of(check)]
    metric = check.get("quota_metric")
    if not isinstance(metric, str) or not metric:
        metric = _compute_metric(check) if service_of(check) == "compute" else ""
    parts = [f"project={quote(project, safe='')}", f"service={quote(service, safe='')}"]
    if metric:
        parts.append(f"metric={quote(metric, safe='')}")
    region = check.get("region")
    if isinstance(region, str) and region:
        parts.append(f"location={quote(region, safe='')}")
    return f"{CONSOLE_QUOTAS}?{'&'.join(parts)}"


def _compute_metric(check: dict[str, Any]) -> str:
    name = str(check.get("metric") or "")
    if check.get("kind") == "gpu" and tier_of(check) == "spot":
        name = f"PREEMPTIBLE_{name}"
    return f"compute.googleapis.com/{name.lower()}" if name else ""


def largest_pool(free: float | None) -> int | None:
    """The vCPUs of the largest c3-standard machine ``free`` CPUs hold, or None."""
    if free is None:
        return None
    fits = [n for n in POOL_VCPUS if n <= free]
    return fits[-1] if fits else None


def pool_text(check: dict[str, Any], free: float | None) -> str:
    """For a Cloud Build C3 entry: ``c3-standard-176`` (the largest pool machine that fits),
    ``no C3 pool`` when none does; empty for any other entry or when nothing is known."""
    if service_of(check) != "cloudbuild" or check.get("kind") != "c3":
        return ""
    if check.get("unlimited") is True:
        return f"c3-standard-{POOL_VCPUS[-1]}"
    size = largest_pool(free)
    if free is None:
        return ""
    return f"c3-standard-{size}" if size else "no C3 pool"


def quotas_line(rows: list[dict[str, Any]]) -> str:
    """``GPU: Vertex AI training · Spot; C3: Cloud Build private pools``: which quota the
    rows read, per kind of check."""
    kinds: dict[str, list[str]] = {}
    for row in rows:
        names = kinds.setdefault(str(row.get("kind")).upper(), [])
        name = check_quota(row)
        if name not in names:
            names.append(name)
    return "; ".join(f"{kind}: {', '.join(names)}" for kind, names in kinds.items())
