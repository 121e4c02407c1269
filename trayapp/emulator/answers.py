"""What the emulator answers a Compute regions request (or a Cloud Quotas one) with.

Pure: a request's parts and the fault it drew in, a status and a JSON body out. Kept apart from
the server so the answers read (and can be checked) without sockets or timing. Standard
library only.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from trayapp.emulator import projects, quotas
from trayapp.emulator.data import KNOWN_REGIONS, _region_json, metric_infos
from trayapp.emulator.faults import Fault, error_body

__all__ = ["ROUTE", "answer"]

ROUTE = re.compile(r"^/compute/v1/projects/([^/]+)/regions(?:/([^/]+))?/?$")


def answer(
    base_url: str,
    project: str,
    region: str | None,
    query: dict[str, list[str]],
    *,
    fault: Fault | None,
    quota: re.Match[str] | None = None,
    captured: Mapping[str, dict[str, object]] | None = None,
    family_default: float | None = None,
    page_limit: int | None = quotas.PAGE_SIZE,
    project_quotas: Mapping[str, Mapping[str, tuple[float, float]]] | None = None,
    billed: str | None = None,
    preferences: Any = None,
) -> tuple[int, dict[str, object]]:
    """The status and body for one request: a QuotaInfo (``quota`` is its route match), a
    Region, a Project, or a page of the region list. ``captured`` Region bodies are served
    verbatim; ``page_limit`` caps a Cloud Quotas list page (None: the client's page size);
    ``billed`` is the request's quota project (x-goog-user-project), if it named one;
    ``preferences``: the quota requests kept, whose grants change the QuotaInfos served."""
    if quota is not None:
        if fault is not None and fault.action == "http":
            return fault.status, quotas.fault_body(fault.status, fault.reason, project, billed)
        service, quota_id = quota.group(2), quota.group(3)
        more = metric_infos(project) if service == quotas.SERVICE else ()
        granted = quotas.grants(preferences.stored(project)) if preferences is not None else []
        if quota_id is None:
            action = fault.action if fault is not None else None
            return quotas.quota_list(
                project,
                service,
                query,
                family_default,
                page_limit=page_limit,
                fault=action if action in quotas.LIST_FAULTS else None,
                more=more,
                grants=granted,
            )
        return quotas.quota_info(
            project, service, quota_id, family_default, more=more, grants=granted
        )
    if fault is not None and fault.action == "http":
        return fault.status, fault.error_body(project, region)
    if region == projects.TARGET:  # projects.get: the project-wide quotas
        return 200, projects.project_json(base_url, project, project_quotas)
    with_quotas = fault is None or fault.action != "no_quotas"
    if region is not None:
        if captured is not None:
            return 200, captured[region]
        return 200, _region_json(base_url, project, region, with_quotas)
    return _region_page(base_url, project, query, with_quotas)


def _region_page(
    base_url: str, project: str, query: dict[str, list[str]], with_quotas: bool
) -> tuple[int, dict[str, object]]:
    """One page of the region list, paged by ``maxResults`` and ``pageToken`` like the API."""
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
        "items": [_region_json(base_url, project, r, with_quotas) for r in page],
        "selfLink": f"{base_url}/compute/v1/projects/{project}/regions",
    }
    if start + size < len(names):
        body["nextPageToken"] = str(start + size)
    return 200, body
