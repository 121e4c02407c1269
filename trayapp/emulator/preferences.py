"""The emulator's Cloud Quotas QuotaPreferences: requests for more quota, kept in memory.

Serves create (``POST .../quotaPreferences?quotaPreferenceId=ID``), get, list and patch
(``PATCH .../quotaPreferences/ID`` with ``validateOnly``, ``allowMissing``, ``updateMask``) in
the shapes cloudquotas.googleapis.com documents: ``quotaConfig`` with ``preferredValue`` and
the output-only ``grantedValue``, ``stateDetail``, ``traceId``, ``requestOrigin``; ``etag``,
``reconciling``, ``dimensions``. ``contactEmail`` is input only: taken on a write, kept (so a
test can read what was sent), never answered. A create whose ID exists is 409 ALREADY_EXISTS;
a quota whose ``quotaIncreaseEligibility`` says no is refused (400 FAILED_PRECONDITION), as is
a write with no email. List filters and ordering are not applied.

The life of a preference: reconciling after each create or patch; then, once the project's
list has been read ``after`` times, decided as the store's ``outcome`` says: ``granted``
(``grantedValue`` = ``preferredValue``), ``partly granted`` (a value between today's limit and
the one asked for), ``denied`` or ``needs support`` (``stateDetail`` says why; ``traceId`` for
Support), or ``reviewing`` (never decided). A preference filed in the console
(``CONSOLE``) is in the data from the start, so a client is seen following one it did not
file. Standard library only.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
import threading
from datetime import UTC, datetime

from trayapp.emulator import quota_data
from trayapp.emulator.quotas import status_body
from trayapp.sources.quota_rule import resolve

ROUTE = re.compile(r"^/v1/projects/([^/]+)/locations/global/quotaPreferences(?:/([^/]+))?/?$")
METHODS = ("GET", "POST", "PATCH")  # what this route answers; the rest of the emulator: GET
_ID = re.compile(r"[a-z0-9][a-z0-9_-]{0,62}", re.IGNORECASE)
_OUTPUT_ONLY = ("grantedValue", "stateDetail", "traceId", "requestOrigin")
Answer = tuple[int, dict[str, object]]
PAGE_SIZE = 20  # preferences on one page of a list at most: a long list spans pages
OUTCOMES = ("reviewing", "granted", "partly granted", "denied", "needs support")
DETAILS = {
    "reviewing": "The request is being reviewed.",
    "granted": "",
    "partly granted": "Partially approved: the rest needs more usage history in this region.",
    "denied": "Denied: the project does not have enough usage history for this increase.",
    "needs support": "Contact Cloud Support and quote the trace ID to continue the review.",
}
# Preferences filed in the console before the client looked: project -> (ID, body) pairs.
CONSOLE: dict[str, tuple[tuple[str, dict[str, object]], ...]] = {
    "demo-project": (
        ("console-h100-us-central1", {
            "service": "compute.googleapis.com",
            "quotaId": "GPUS-PER-GPU-FAMILY-per-project-region",
            "dimensions": {"region": "us-central1", "gpu_family": "NVIDIA_H100"},
            "quotaConfig": {"preferredValue": "24"},
            "contactEmail": "owner@example.com",
            "justification": "Training runs need 24 H100.",
        }),
    ),
}  # fmt: skip


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def _error(code: int, status: str, message: str) -> Answer:
    return code, status_body(code, status, message)


class PreferenceStore:
    """Every QuotaPreference written to the emulator, per project; safe across threads."""

    def __init__(
        self,
        outcome: str = "reviewing",
        after: int = 2,
        console: dict[str, tuple[tuple[str, dict[str, object]], ...]] | None = None,
    ) -> None:
        if outcome not in OUTCOMES:
            raise ValueError(f"outcome must be one of {', '.join(OUTCOMES)}: {outcome!r}")
        self.outcome, self.after = outcome, max(1, after)
        self._lock = threading.Lock()
        self._kept: dict[tuple[str, str], dict[str, object]] = {}
        self._lists: dict[tuple[str, str], int] = {}  # list reads since the latest write
        for project, filed in (CONSOLE if console is None else console).items():
            for pref_id, body in filed:
                self._write(project, pref_id, None, copy.deepcopy(body), set(), validate_only=False)
                record = self._kept[(project, pref_id)]
                record["quotaConfig"]["requestOrigin"] = "CLOUD_CONSOLE"  # type: ignore[index]

    def stored(self, project: str) -> list[dict[str, object]]:
        """Copies of ``project``'s preferences as kept, ``contactEmail`` included."""
        with self._lock:
            return [copy.deepcopy(r) for (p, _), r in sorted(self._kept.items()) if p == project]

    def answer(
        self,
        method: str,
        project: str,
        pref_id: str | None,
        query: dict[str, list[str]],
        raw: bytes,
    ) -> Answer:
        """(status, body) for one request on the quotaPreferences route."""
        one = {k: v[0] for k, v in query.items() if v}
        parent = f"projects/{project}/locations/global"
        with self._lock:
            if method == "GET" and pref_id is None:
                self._listed(project)
                mine = [_public(r) for (p, _), r in sorted(self._kept.items()) if p == project]
                return _page(mine, one)
            if method == "GET":
                found = self._kept.get((project, pref_id))
                if found is None:
                    return _missing(parent, pref_id)
                return 200, _public(found)
            try:
                body = json.loads(raw or b"{}")
            except ValueError:
                return _error(400, "INVALID_ARGUMENT", "Invalid JSON payload received.")
            if not isinstance(body, dict):
                return _error(400, "INVALID_ARGUMENT", "Invalid JSON payload received.")
            if method == "POST" and pref_id is None:
                new_id = one.get("quotaPreferenceId") or hashlib.sha256(raw).hexdigest()[:20]
                if (project, new_id) in self._kept:
                    name = f"{parent}/quotaPreferences/{new_id}"
                    return _error(409, "ALREADY_EXISTS", f"QuotaPreference {name} already exists.")
                return self._write(project, new_id, None, body, set(), validate_only=False)
            if method == "PATCH" and pref_id is not None:
                old = self._kept.get((project, pref_id))
                if old is None and one.get("allowMissing") != "true":
                    return _missing(parent, pref_id)
                mask = {m for m in one.get("updateMask", "").split(",") if m}
                validate = one.get("validateOnly") == "true"
                return self._write(project, pref_id, old, body, mask, validate_only=validate)
        return _error(405, "METHOD_NOT_ALLOWED", f"{method} is not served on this path.")

    def _write(
        self,
        project: str,
        pref_id: str,
        old: dict[str, object] | None,
        body: dict[str, object],
        mask: set[str],
        *,
        validate_only: bool,
    ) -> Answer:
        """Create (``old`` None) or update one preference; nothing kept when validating."""
        if not _ID.fullmatch(pref_id):
            return _error(400, "INVALID_ARGUMENT", f"Invalid quota preference id {pref_id!r}.")
        etag = body.get("etag")
        if old is not None and etag and etag != old["etag"]:
            return _error(409, "ABORTED", "The etag does not match the current quota preference.")
        record = copy.deepcopy(old) if old is not None else {}
        if old is None or not mask:  # a new one, or no mask: every field overwritten
            record.update({k: v for k, v in body.items() if k not in ("name", "etag")})
        else:
            for path in mask:
                _copy_path(body, record, path.split("."))
        config = record.get("quotaConfig")
        config = dict(config) if isinstance(config, dict) else {}
        for key in _OUTPUT_ONLY:
            config.pop(key, None)
        problem = _invalid(record, config)
        if problem is not None:
            return problem
        name = f"projects/{project}/locations/global/quotaPreferences/{pref_id}"
        stamp = _now()
        version = int(str(old["etag"]).rsplit("-", 1)[1]) + 1 if old is not None else 1
        trace = hashlib.sha256(f"{name}#{version}".encode()).hexdigest()[:16]
        config.update(
            preferredValue=str(int(config["preferredValue"])),
            grantedValue=str(_current(record)),
            stateDetail="The request is being reviewed.",
            traceId=trace,
            requestOrigin="ORIGIN_UNSPECIFIED",
        )
        record.update(
            name=name,
            quotaConfig=config,
            etag=f"{trace}-{version}",
            createTime=old["createTime"] if old is not None else stamp,
            updateTime=stamp,
            reconciling=True,
        )
        if not validate_only:
            self._kept[(project, pref_id)] = record
            self._lists[(project, pref_id)] = 0
        return 200, _public(record)

    def _listed(self, project: str) -> None:
        """One more list read: the preferences reconciling ``after`` reads are decided."""
        if self.outcome == "reviewing":
            return
        for key, record in self._kept.items():
            if key[0] != project or not record.get("reconciling"):
                continue
            self._lists[key] = self._lists.get(key, 0) + 1
            if self._lists[key] >= self.after:
                _decide(record, self.outcome)


def _decide(record: dict[str, object], outcome: str) -> None:
    """Google's answer to a reconciling preference: the value granted and why."""
    config = record["quotaConfig"]
    assert isinstance(config, dict)
    wanted, granted = int(config["preferredValue"]), int(config["grantedValue"])
    if outcome == "granted" or (outcome == "partly granted" and wanted - granted > 1):
        granted = wanted if outcome == "granted" else granted + (wanted - granted) // 2
    config.update(grantedValue=str(granted), stateDetail=DETAILS[outcome])
    record.update(reconciling=False, updateTime=_now())


def _page(items: list[dict[str, object]], one: dict[str, str]) -> Answer:
    """One page of a list: ``pageSize`` (at most ``PAGE_SIZE``) from the ``pageToken`` on."""
    try:
        size = min(int(one.get("pageSize") or PAGE_SIZE), PAGE_SIZE)
        start = int(one.get("pageToken") or 0)
    except ValueError:
        return _error(400, "INVALID_ARGUMENT", "Invalid page_size or page_token.")
    body: dict[str, object] = {"quotaPreferences": items[start : start + max(size, 1)]}
    if start + max(size, 1) < len(items):
        body["nextPageToken"] = str(start + max(size, 1))
    return 200, body


def _copy_path(source: dict[str, object], target: dict[str, object], path: list[str]) -> None:
    """``updateMask``: one field path (``quotaConfig.preferredValue``) from body to record."""
    head, rest = path[0], path[1:]
    if not rest:
        if head in source:
            target[head] = copy.deepcopy(source[head])
        else:
            target.pop(head, None)
        return
    inner_source = source.get(head)
    inner_target = target.setdefault(head, {})
    if isinstance(inner_source, dict) and isinstance(inner_target, dict):
        _copy_path(inner_source, inner_target, rest)


def _info(record: dict[str, object]) -> quota_data.Info | None:
    service, quota_id = record.get("service"), record.get("quotaId")
    family = (
        "GPUS-PER-GPU-FAMILY-per-project-region",
        "compute.googleapis.com/gpus_per_gpu_family",
        ("region", "gpu_family"),
        [],
    )
    for info in quota_data.service_infos(str(service), family):
        if info[0] == quota_id:
            return info
    return None


def _invalid(record: dict[str, object], config: dict[str, object]) -> Answer | None:
    """Why a preference cannot be written, as Google would refuse it; None when it can."""
    service, quota_id = record.get("service"), record.get("quotaId")
    if not service or not quota_id:
        return _error(400, "INVALID_ARGUMENT", "service and quota_id are required.")
    info = _info(record)
    if info is None:
        return _error(400, "INVALID_ARGUMENT", f"Quota {quota_id} of {service} does not exist.")
    dimensions = record.get("dimensions") or {}
    if not isinstance(dimensions, dict) or any(k not in info[2] for k in dimensions):
        return _error(400, "INVALID_ARGUMENT", f"Invalid dimensions for quota {quota_id}.")
    try:
        value = int(str(config.get("preferredValue")))
    except ValueError:
        return _error(400, "INVALID_ARGUMENT", "quota_config.preferred_value is required.")
    if value < -1:
        return _error(400, "INVALID_ARGUMENT", "preferred_value must be at least -1.")
    eligibility = quota_data.eligibility(str(quota_id))
    if not eligibility["isEligible"]:
        why = eligibility.get("ineligibilityReason")
        return _error(400, "FAILED_PRECONDITION", f"Quota {quota_id} cannot be increased: {why}.")
    if not record.get("contactEmail"):
        return _error(400, "INVALID_ARGUMENT", "contact_email is required for a quota increase.")
    return None


def _current(record: dict[str, object]) -> int:
    """The value in effect for the preference's dimensions today (0 where none applies)."""
    info = _info(record)
    dimensions = dict(record.get("dimensions") or {})  # type: ignore[call-overload]
    region = dimensions.pop("region", "")
    value = resolve(info[3], region, dimensions) if info is not None else None
    return -1 if value == float("inf") else int(value or 0)


def _public(record: dict[str, object]) -> dict[str, object]:
    """A preference as the API answers it: ``contactEmail`` is input only."""
    return {k: copy.deepcopy(v) for k, v in record.items() if k != "contactEmail"}


def _missing(parent: str, pref_id: str) -> Answer:
    name = f"{parent}/quotaPreferences/{pref_id}"
    return _error(404, "NOT_FOUND", f"QuotaPreference {name} not found.")
