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
from trayapp.sources.cloudquotas import CloudQuotasSource
from trayapp.sources.errors import classify
from trayapp.sources.quota_project import HEADER

PERMISSION = "cloudquotas.quotas.update"
ROLE = "Cloud Quotas Admin (roles/cloudquotas.admin)"
_MAX_ID = 63


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
            raise self._failed(client, refusal(exc, project, ask, self.timeout_s)) from exc
        return _filed(answer)


def refusal(exc: BaseException, project: str, ask: Ask, timeout_s: float) -> SourceError:
    """One line: a 403 names the permission and the role that grants it."""
    error = classify(exc, f"{project}/{ask.quota_id}", timeout_s)
    if error.kind == "permission":
        return SourceError(
            "permission",
            f"{project}: asking for more quota needs the permission {PERMISSION} "
            f"(role {ROLE}): {clean_line(getattr(exc, 'message', exc), 200)}",
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
