"""The Cloud Quotas part of the emulator: QuotaInfos by ID and by list, and their errors.

Serves ``GET /v1/projects/{p}/locations/global/services/{service}/quotaInfos/{id}`` and the
paged list ``.../quotaInfos?pageSize=N&pageToken=T`` in proto3 JSON as
cloudquotas.googleapis.com does, so the real google-cloud-quotas client is exercised: Compute's
GPU family quotas, Vertex AI training GPUs, Cloud Build private pools (``quota_data``). Like
the live Compute API (see the captured bodies in tests/data), the emulator's regions.get
does not report on-demand H100, H100 Mega or H200: those answers come from here. Standard
library only.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from trayapp.emulator import quota_data
from trayapp.sources.compute_family import QUOTA_ID, SERVICE, FamilyQuotas, quota_info_name

# Fault target for Cloud Quotas requests (``503@cloudquotas#1``, ``403:SERVICE_DISABLED@...``):
# the Compute family quotas; ``aiplatform`` and ``cloudbuild`` name the other services'.
QUOTAS_TARGET = "cloudquotas"
TARGETS = tuple(quota_data.TARGETS.values())
ROUTE = re.compile(
    r"^/v1/projects/([^/]+)/locations/global/services/([^/]+)/quotaInfos(?:/([^/]+))?/?$"
)
# QuotaInfos on one page of a list: the client's pageSize, but never more than PAGE_SIZE (as
# the API says, a server may send fewer than asked), so every list of the emulator spans pages.
PAGE_SIZE = 3
MAX_PAGE_SIZE = 100
# Faults for a list page: its next token is the one it was asked with, "0" on the first page
# (the client would ask for the first page forever), or a fresh one on every page, past the
# end too (the list never ends).
LIST_FAULTS = ("repeat_token", "endless_pages")


def target_of(service: str) -> str:
    """The fault target (and latency key) of a service's Cloud Quotas requests."""
    return quota_data.TARGETS.get(service, QUOTAS_TARGET)


# Metrics regions.get does not report on the live API (no on-demand H100 in Compute's enum,
# nothing at all for H100 Mega or H200); the preemptible and committed H100 forms do exist.
FAMILY_ONLY_METRICS = (
    "NVIDIA_H100_GPUS",
    *(
        f"{p}NVIDIA_{g}_GPUS"
        for g in ("H100_MEGA", "H200")
        for p in ("", "PREEMPTIBLE_", "COMMITTED_")
    ),
)

# Deterministic entries with every precedence case over the default GPU regions:
#   H100: us-central1 16 and europe-west4 24 (region + family), us-east1 / us-west1 8 (family)
#   H200: us-central1 8 (region + family), europe-west4 4 (region only), us-east1 and us-west1
#         no entry: not reported, unless the emulator serves a catch-all (``family_default``)
#   T4: 99 (family): regions.get reports T4 in those regions, and its answer wins
FAMILY_ENTRIES: FamilyQuotas = [
    ({"gpu_family": "NVIDIA_H100"}, 8.0),
    ({"gpu_family": "NVIDIA_T4"}, 99.0),
    ({"region": "europe-west4"}, 4.0),
    ({"region": "us-central1", "gpu_family": "NVIDIA_H100"}, 16.0),
    ({"region": "us-central1", "gpu_family": "NVIDIA_H200"}, 8.0),
    ({"region": "europe-west4", "gpu_family": "NVIDIA_H100"}, 24.0),
    ({"region": "us-central1", "gpu_family": "NVIDIA_H100_MEGA"}, 8.0),
]


def expected_families(project: str, default: float | None = None) -> FamilyQuotas:
    """The entries the emulator serves for ``project`` (the same for every project), led by
    the catch-all entry (no dimensions) when ``default`` is given."""
    entries = [(dict(d), v) for d, v in FAMILY_ENTRIES]
    return entries if default is None else [({}, float(default)), *entries]


def quota_info(
    project: str,
    service: str,
    quota_id: str | None,
    default: float | None = None,
    *,
    more: Sequence[quota_data.Info] = (),
    grants: Sequence[Grant] = (),
) -> tuple[int, dict[str, object]]:
    """(status, body) for a QuotaInfo request by ID; 404 for one the service does not have;
    ``more``: the project's QuotaInfos made from its region answers (Compute's per metric);
    ``grants``: the values its decided quota requests set."""
    infos = [*quota_data.service_infos(service, _family(default)), *more]
    for info in (_granted(service, i, grants) for i in infos):
        if info[0] == quota_id:
            return 200, _info_json(project, service, info)
    name = f"projects/{project}/locations/global/services/{service}/quotaInfos/{quota_id}"
    return 404, status_body(404, "NOT_FOUND", f"QuotaInfo {name} not found.")


def quota_list(
    project: str,
    service: str,
    query: dict[str, list[str]],
    default: float | None = None,
    *,
    page_limit: int | None = PAGE_SIZE,
    fault: str | None = None,
    more: Sequence[quota_data.Info] = (),
    grants: Sequence[Grant] = (),
) -> tuple[int, dict[str, object]]:
    """One page of a service's QuotaInfos, paged by ``pageSize`` (at most ``page_limit``; None:
    as asked) and ``pageToken``; ``fault`` one of ``LIST_FAULTS`` or None."""
    infos = [*quota_data.service_infos(service, _family(default)), *more]
    infos = [_granted(service, i, grants) for i in infos]
    token = query.get("pageToken", [""])[0]
    try:
        size = int(query.get("pageSize", [str(PAGE_SIZE)])[0] or PAGE_SIZE)
        start = int(token or "0")
    except ValueError:
        size = start = -1
    end = len(infos) if fault != "endless_pages" else max(len(infos), start)
    if not (0 < size <= MAX_PAGE_SIZE and 0 <= start <= end):
        return 400, status_body(400, "INVALID_ARGUMENT", "Invalid page_size or page_token.")
    size = min(size, page_limit or size)
    body: dict[str, object] = {
        "quotaInfos": [_info_json(project, service, i) for i in infos[start : start + size]]
    }
    if fault == "repeat_token":
        body["nextPageToken"] = token or "0"  # "0": the first page, again and again
    elif fault == "endless_pages" or start + size < len(infos):
        body["nextPageToken"] = str(start + size)
    return 200, body


# (service, quota ID, dimensions, value): what a decided quota request makes Google enforce
Grant = tuple[str, str, dict[str, str], int]


def grants(stored: Sequence[dict[str, object]]) -> list[Grant]:
    """The grants of a project's quota requests as the emulator keeps them (decided ones)."""
    found = []
    for record in stored:
        config, dims = record.get("quotaConfig"), record.get("dimensions")
        if record.get("reconciling") or not isinstance(config, dict) or not isinstance(dims, dict):
            continue
        value = int(str(config.get("grantedValue")))
        found.append((str(record.get("service")), str(record.get("quotaId")), dims, value))
    return found


def _granted(service: str, info: quota_data.Info, granted: Sequence[Grant]) -> quota_data.Info:
    """``info`` with the values its grants set: an entry with the grant's dimensions holds
    the granted value (added when there was none)."""
    quota_id, metric, names, entries = info
    mine = [(d, v) for s, q, d, v in granted if (s, q) == (service, quota_id)]
    if not mine:
        return info
    kept = [e for e in entries if all(e[0] != d for d, _ in mine)]
    added = [(dict(d), v, (d["region"],) if "region" in d else ()) for d, v in mine]
    return quota_id, metric, names, [*kept, *added]


def _family(default: float | None) -> quota_data.Info:
    entries: list[quota_data.Entry] = [
        (dict(d), int(v), (d["region"],) if "region" in d else quota_data.KNOWN_REGIONS)
        for d, v in expected_families("", default)
    ]
    return (QUOTA_ID, f"{SERVICE}/gpus_per_gpu_family", ("region", "gpu_family"), entries)


def _info_json(project: str, service: str, info: quota_data.Info) -> dict[str, object]:
    quota_id, metric, dimension_names, entries = info
    infos = []
    for dimensions, value, locations in entries:
        entry: dict[str, object] = {
            "details": {"value": str(int(value))},  # int64: a JSON string in proto3 JSON
            "applicableLocations": list(locations),
        }
        if dimensions:
            entry["dimensions"] = dimensions
        infos.append(entry)
    return {
        "name": f"projects/{project}/locations/global/services/{service}/quotaInfos/{quota_id}",
        "quotaId": quota_id,
        "metric": metric,
        "service": service,
        "isPrecise": True,
        "containerType": "PROJECT",
        "dimensions": list(dimension_names),
        "quotaDisplayName": quota_id,
        "metricDisplayName": metric.rpartition("/")[2],
        "metricUnit": "1",
        "isFixed": quota_id in quota_data.FIXED,
        "quotaIncreaseEligibility": quota_data.eligibility(quota_id),
        "isConcurrent": service == quota_data.CLOUDBUILD,
        "dimensionsInfos": infos,
    }


def status_body(
    code: int, status: str, message: str, reason: str = "", metadata: dict[str, str] | None = None
) -> dict[str, object]:
    """A google.rpc.Status error document, with an ErrorInfo detail when ``reason`` is set."""
    error: dict[str, object] = {"code": code, "message": message, "status": status}
    if reason:
        error["details"] = [
            {
                "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                "reason": reason,
                "domain": "googleapis.com",
                "metadata": metadata or {},
            }
        ]
    return {"error": error}


CLOUDQUOTAS = "cloudquotas.googleapis.com"
# What Google bills a user's call that names no quota project: the Cloud SDK's own project.
SDK_CONSUMER = "projects/764086051850"
_NO_QUOTA_PROJECT = (
    "Your application is authenticating by using local Application Default Credentials. "
    f"The {CLOUDQUOTAS} API requires a quota project, which is not set by default. To learn "
    "how to set your quota project, see https://cloud.google.com/docs/authentication/adc-troubleshooting/"
    "user-creds ."
)
# ErrorInfo reason -> Google's message; {c} is the project billed (the consumer).
_REASONS = {
    "SERVICE_DISABLED": "Cloud Quotas API has not been used in project {c} before or it is "
    "disabled. Enable it by visiting https://console.developers.google.com/apis/api/"
    f"{CLOUDQUOTAS}/overview?project={{c}} then retry.",
    "USER_PROJECT_DENIED": "Caller does not have required permission to use project {c}. Grant "
    "the caller the roles/serviceusage.serviceUsageConsumer role, or a custom role with the "
    "serviceusage.services.use permission, and then retry.",
    "BILLING_DISABLED": "This API method requires billing to be enabled. Please enable billing "
    "on project {c} then retry.",
    "ACCESS_TOKEN_SCOPE_INSUFFICIENT": "Request had insufficient authentication scopes.",
}


def no_quota_project() -> dict[str, object]:
    """Google's refusal of a user's call that names no quota project: SERVICE_DISABLED, billed
    to the Cloud SDK's project (not the one asked about)."""
    metadata = {"consumer": SDK_CONSUMER, "service": CLOUDQUOTAS}
    return status_body(403, "PERMISSION_DENIED", _NO_QUOTA_PROJECT, "SERVICE_DISABLED", metadata)


def fault_body(
    status: int, reason: str, project: str, billed: str | None = None
) -> dict[str, object]:
    """An injected error as Cloud Quotas words it; the consumer is the request's quota project
    (``billed``), or the Cloud SDK's when it named none."""
    consumer = f"projects/{billed}" if billed else SDK_CONSUMER
    if reason == "SERVICE_DISABLED" and billed is None:
        return no_quota_project()
    if reason in _REASONS:
        text = _REASONS[reason].format(c=consumer.removeprefix("projects/"))
        metadata = {"consumer": consumer, "service": CLOUDQUOTAS}
        return status_body(status, "PERMISSION_DENIED", text, reason, metadata)
    if status == 403:
        return status_body(
            403,
            "PERMISSION_DENIED",
            f"Permission 'cloudquotas.quotas.get' denied on resource '{quota_info_name(project)}'.",
            reason if reason and reason != "forbidden" else "IAM_PERMISSION_DENIED",
            {"permission": "cloudquotas.quotas.get"},
        )
    words = {404: "NOT_FOUND", 429: "RESOURCE_EXHAUSTED", 503: "UNAVAILABLE", 500: "INTERNAL"}
    return status_body(status, words.get(status, "UNKNOWN"), f"Request failed ({status}).")
