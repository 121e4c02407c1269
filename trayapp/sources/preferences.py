"""Asking Google for more quota: one QuotaPreference, filed or only validated, through
google-cloud-quotas (REST).

The preference ID is made from the service, quota ID and dimensions alone, so asking twice
for the same quota updates the one preference (PATCH with ``allowMissing``) and never files a
second. A dry run is the same PATCH with ``validateOnly``: Google checks it, nothing is kept.
The contact email and justification go to Google as given and nowhere else: no log line, no
message here carries them.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any, NamedTuple

from trayapp.safety.text import clean_line
from trayapp.sources.base import SourceError
from trayapp.sources.cloudquotas import MAX_PAGES, PAGE_SIZE, CloudQuotasSource
from trayapp.sources.errors import classify
from trayapp.sources.quota_project import HEADER

PERMISSION = "cloudquotas.quotas.update"
ROLE = "Cloud Quotas Admin (roles/cloudquotas.admin)"
READ_PERMISSION = "cloudquotas.quotas.get"
READ_ROLE = "Cloud Quotas Viewer (roles/cloudquotas.viewer)"
MAX_PREFERENCES = 1000  # preferences kept from one project's list; a flood is cut here
_MAX_ID = 63
_MAX_NAME = 300
_MAX_DIMENSIONS = 16


class Ask(NamedTuple):
    """What is asked: a quota (service, quota ID, dimensions) and the value wanted."""

    service: str  # "compute.googleapis.com"
    quota_id: str
    dimensions: dict[str, str]
    value: int
    email: str
    justification: str = ""


class Filed(NamedTuple):
    """Google's answer: the preference's name, the values it holds, and its state."""

    name: str
    preferred: int
    granted: int | None
    reconciling: bool
    trace_id: str


class Preference(NamedTuple):
    """One QuotaPreference as listed, in plain values (it crosses the fetcher's pipe); every
    text cleaned and capped. No email, no justification: the app follows, it never repeats."""

    name: str
    service: str
    quota_id: str
    dimensions: dict[str, str]
    preferred: int
    granted: int | None
    reconciling: bool
    state_detail: str
    trace_id: str
    created_at: float | None
    updated_at: float | None


def preference_id(service: str, quota_id: str, dimensions: dict[str, str]) -> str:
    """``compute-gpus-per-gpu-family-per-project-region-us-central1-nvidia_h100``: the same
    quota and dimensions always give the same ID (cut to 63 characters with a hash of the
    whole when longer)."""
    parts = [service.split(".", 1)[0], quota_id, *(dimensions[k] for k in sorted(dimensions))]
    whole = "-".join(re.sub(r"[^a-z0-9_]+", "-", p.lower()).strip("-") for p in parts)
    if len(whole) <= _MAX_ID:
        return whole
    digest = hashlib.sha256("\n".join(parts).encode()).hexdigest()[:10]
    return f"{whole[: _MAX_ID - 11].rstrip('-')}-{digest}"


def mask_email(email: str) -> str:
    """``y**@example.com``: enough to recognise, never the whole address."""
    local, at, domain = email.strip().partition("@")
    return f"{local[:1]}**{at}{clean_line(domain, 80)}" if at else f"{local[:1]}**"


class PreferenceSource(CloudQuotasSource):
    """Files (or validates) one QuotaPreference of a project."""

    def file(self, project: str, ask: Ask, *, validate_only: bool) -> Filed:
        """PATCH the preference with ``allowMissing`` (created when new, updated when not);
        ``validate_only``: Google checks it and keeps nothing. SourceError on failure."""
        pref_id = preference_id(ask.service, ask.quota_id, ask.dimensions)
        name = f"projects/{project}/locations/global/quotaPreferences/{pref_id}"
        client = self._ready_client(f"{project}/{ask.quota_id}")
        from google.cloud import cloudquotas_v1

        preference = cloudquotas_v1.QuotaPreference(
            name=name,
            service=ask.service,
            quota_id=ask.quota_id,
            dimensions=dict(ask.dimensions),
            quota_config=cloudquotas_v1.QuotaConfig(preferred_value=ask.value),
            justification=ask.justification,
            contact_email=ask.email,
        )
        request = {
            "quota_preference": preference,
            "allow_missing": True,
            "validate_only": validate_only,
        }
        try:
            self._sent()
            answer = client.update_quota_preference(
                request=request,
                timeout=self.timeout_s,
                retry=None,
                metadata=((HEADER, self.billed_to(project)),),
            )
        except Exception as exc:
            why = refusal(
                exc, f"{project}/{ask.quota_id}", self.timeout_s,
                doing="asking for more quota", grant=(PERMISSION, ROLE),
            )  # fmt: skip
            raise self._failed(client, why) from exc
        return _filed(answer)

    def fetch_preferences(self, project: str) -> list[Preference]:
        """Every QuotaPreference of ``project`` (the app's and the console's), page by page:
        ``MAX_PAGES`` pages and ``MAX_PREFERENCES`` preferences at most. SourceError on
        failure, a list that never ends included (``bad_response``)."""
        where = f"{project}/quotaPreferences"
        client = self._ready_client(where)
        try:
            self._sent()
            pager = client.list_quota_preferences(
                request={"parent": f"projects/{project}/locations/global", "page_size": PAGE_SIZE},
                timeout=self.timeout_s,
                retry=None,
                metadata=((HEADER, self.billed_to(project)),),  # every page carries it
            )
            return self._read_pages(pager, where)
        except SourceError as exc:
            raise self._failed(client, exc) from exc
        except Exception as exc:
            why = refusal(
                exc, f"{project}/quotaPreferences", self.timeout_s,
                doing="following quota increase requests", grant=(READ_PERMISSION, READ_ROLE),
            )  # fmt: skip
            raise self._failed(client, why) from exc

    def _read_pages(self, pager: Any, where: str) -> list[Preference]:
        found: list[Preference] = []
        tokens: set[str] = set()
        for number, page in enumerate(pager.pages, start=1):  # each next page: one request
            for answer in page.quota_preferences:
                if len(found) < MAX_PREFERENCES:
                    found.append(preference(answer))
            token = str(page.next_page_token)
            if not token:
                return found
            if token in tokens or number >= MAX_PAGES:
                why = "repeated a page token" if token in tokens else "did not end"
                raise SourceError(
                    "bad_response",
                    f"{where}: the list of quota increase requests {why} after {number} pages",
                )
            tokens.add(token)
            self._sent()
        return found


def preference(answer: Any) -> Preference:
    """Plain values out of a QuotaPreference message; the email and justification left out."""
    config = answer.quota_config
    granted = config.granted_value if "granted_value" in config else None
    dimensions = {
        clean_line(str(k), _MAX_NAME): clean_line(str(v), _MAX_NAME)
        for k, v in list(answer.dimensions.items())[:_MAX_DIMENSIONS]
    }
    return Preference(
        clean_line(str(answer.name), _MAX_NAME),
        clean_line(str(answer.service), _MAX_NAME),
        clean_line(str(answer.quota_id), _MAX_NAME),
        dimensions,
        int(config.preferred_value),
        None if granted is None else int(granted),
        bool(answer.reconciling),
        clean_line(str(config.state_detail), _MAX_NAME),
        clean_line(str(config.trace_id), 80),
        _seconds(answer, "create_time"),
        _seconds(answer, "update_time"),
    )


def _seconds(answer: Any, field: str) -> float | None:
    """Epoch seconds of a timestamp field, None when Google left it out."""
    if field not in answer:
        return None
    try:
        return float(getattr(answer, field).timestamp())
    except (AttributeError, OverflowError, ValueError):
        return None


def refusal(
    exc: BaseException, where: str, timeout_s: float, *, doing: str, grant: tuple[str, str]
) -> SourceError:
    """One line: a 403 names what was being done, the permission it needs and the role that
    grants it."""
    error = classify(exc, where, timeout_s)
    if error.kind == "permission":
        project, (permission, role) = where.partition("/")[0], grant
        return SourceError(
            "permission",
            f"{project}: {doing} needs the permission {permission} (role {role}): "
            f"{clean_line(getattr(exc, 'message', exc), 200)}",
        )
    return error


def _filed(answer: Any) -> Filed:
    config = answer.quota_config
    granted = config.granted_value if "granted_value" in config else None
    return Filed(
        clean_line(str(answer.name), 300),
        int(config.preferred_value),
        None if granted is None else int(granted),
        bool(answer.reconciling),
        clean_line(str(config.trace_id), 80),
    )
