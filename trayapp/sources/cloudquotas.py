"""The GPU family quota from the Cloud Quotas API, through google-cloud-quotas (REST).

Asked only for what regions.get does not report (H100, H200 and newer): one ``get_quota_info``
per project per cycle. Like ``ComputeSource``: nothing from google is imported until
``prepare()``, an ``http://`` loopback endpoint gets anonymous credentials, one call is one
request (the warmer owns retries), and every failure leaves as ``SourceError``. The three
failures a person must mend (API disabled, permission missing, QuotaInfo not served) carry a
message saying exactly what to do.
"""

from __future__ import annotations

from typing import Any

from trayapp.sources.base import SourceError
from trayapp.sources.compute import GoogleClientSource, classify, is_loopback_url
from trayapp.sources.compute_family import QUOTA_ID, FamilyQuotas, quota_info_name

DEFAULT_QUOTAS_ENDPOINT = "https://cloudquotas.googleapis.com"
PERMISSION = "cloudquotas.quotas.get"


def quotas_endpoint_for(endpoint: str | None, quotas_endpoint: str | None = None) -> str:
    """The Cloud Quotas URL in effect: as set, else the Compute endpoint when that is a
    loopback ``http://`` URL (the emulator serves both, so nothing goes to Google), else
    Google's."""
    if quotas_endpoint:
        return quotas_endpoint
    if endpoint and endpoint.startswith("http://") and is_loopback_url(endpoint):
        return endpoint
    return DEFAULT_QUOTAS_ENDPOINT


class CloudQuotasSource(GoogleClientSource):
    """The family quota entries of a project. Safe to call from several threads at once."""

    LIBRARY = "google-cloud-quotas"
    NAME = "Cloud Quotas"
    CLIENT_OPTIONS = {"transport": "rest"}  # noqa: RUF012 - read only

    def _client_class(self) -> Any:
        from google.cloud import cloudquotas_v1

        return cloudquotas_v1.CloudQuotasClient

    def fetch_families(self, project: str) -> FamilyQuotas:
        """Every entry of the project's GPU family quota: (dimensions, limit)."""
        client = self._ready_client(f"{project}/{QUOTA_ID}")
        try:
            info = client.get_quota_info(
                name=quota_info_name(project), timeout=self.timeout_s, retry=None
            )
            return [
                ({str(k): str(v) for k, v in entry.dimensions.items()}, float(entry.details.value))
                for entry in info.dimensions_infos
            ]
        except Exception as exc:
            raise self._failed(client, explain(exc, project, self.timeout_s)) from exc


def explain(exc: BaseException, project: str, timeout_s: float) -> SourceError:
    """The core's classification, with what to do for the failures a person must mend."""
    error = classify(exc, f"{project}/{QUOTA_ID}", timeout_s)
    reason = str(getattr(exc, "reason", "") or "")
    if error.kind == "permission" and reason == "SERVICE_DISABLED":
        return SourceError(
            "permission",
            f"the Cloud Quotas API is disabled for project {project}: run "
            f'"gcloud services enable cloudquotas.googleapis.com --project {project}" '
            "to see H100/H200-class GPU family quota",
        )
    if error.kind == "permission":
        return SourceError(
            "permission",
            f"no permission {PERMISSION} on project {project}: grant the role "
            '"Cloud Quotas Viewer" (roles/cloudquotas.viewer) to see H100/H200-class '
            "GPU family quota",
        )
    if error.kind == "not_found":
        return SourceError(
            "not_found",
            f"the Cloud Quotas endpoint does not serve {quota_info_name(project)} (HTTP 404): "
            "check --quotas-endpoint; GPU family quota is not reported",
        )
    return error
