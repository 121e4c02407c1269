"""The GPU family quota from the Cloud Quotas API, through google-cloud-quotas (REST).

Asked only for what regions.get does not report (H100, H200 and newer): one ``get_quota_info``
per project per cycle. Like ``ComputeSource``: nothing from google is imported until
``prepare()``, an ``http://`` loopback endpoint gets anonymous credentials, one call is one
request (the warmer owns retries), and every failure leaves as ``SourceError``. The three
failures a person must mend (API disabled, permission missing, QuotaInfo not served) carry a
message saying exactly what to do.
"""

from __future__ import annotations

import contextlib
import threading
from typing import Any

from trayapp.sources.base import SourceError
from trayapp.sources.compute import classify, is_loopback_url
from trayapp.sources.family_map import QUOTA_ID, FamilyQuotas, quota_info_name
from trayapp.sources.size_cap import MAX_ANSWER_BYTES, cap_client

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


class CloudQuotasSource:
    """The family quota entries of a project. Safe to call from several threads at once."""

    def __init__(
        self,
        endpoint: str | None = None,
        timeout_s: float = 10.0,
        *,
        credentials: Any = None,
        max_answer_bytes: int = MAX_ANSWER_BYTES,
    ) -> None:
        if timeout_s <= 0:
            raise ValueError("timeout_s must be positive")
        endpoint = endpoint.rstrip("/") if endpoint else None
        loopback_http = (
            bool(endpoint) and endpoint.startswith("http://") and is_loopback_url(endpoint)
        )
        if endpoint and endpoint.startswith("http://") and not loopback_http:
            raise ValueError(
                f"refusing plain http to {endpoint}: credentials would travel unencrypted "
                "(use https://, or a loopback http:// URL for the emulator)"
            )
        self.endpoint, self.timeout_s, self.credentials = endpoint, float(timeout_s), credentials
        self.anonymous = loopback_http and credentials is None
        self.max_answer_bytes = max_answer_bytes  # a huge answer is an error, not our memory
        self._client: Any = None
        self._lock = threading.Lock()
        self._closed = threading.Event()

    def prepare(self) -> None:
        """Import google-cloud-quotas and build the client; SourceError on failure."""
        with self._lock:
            if self._client is None:
                self._closed.clear()
                self._client = self._build_client()

    def _build_client(self) -> Any:
        try:
            from google.auth.credentials import AnonymousCredentials
            from google.cloud import cloudquotas_v1
        except ImportError as exc:
            raise SourceError(
                "unavailable",
                f"google-cloud-quotas cannot be imported ({exc.name or exc}): "
                "pip install google-cloud-quotas",
            ) from exc
        options = {"api_endpoint": self.endpoint} if self.endpoint else None
        credentials = AnonymousCredentials() if self.anonymous else self.credentials
        try:
            client = cloudquotas_v1.CloudQuotasClient(
                credentials=credentials, transport="rest", client_options=options
            )
        except Exception as exc:
            raise classify(exc, "Cloud Quotas client set-up", self.timeout_s) from exc
        cap_client(client, self.max_answer_bytes)
        return client

    def fetch_families(self, project: str) -> FamilyQuotas:
        """Every entry of the project's GPU family quota: (dimensions, limit)."""
        where = f"{project}/{QUOTA_ID}"
        if self._closed.is_set():
            raise SourceError("unavailable", f"{where}: the Cloud Quotas source is closed")
        if self._client is None:
            self.prepare()
        client = self._client
        if client is None:
            raise SourceError("unavailable", f"{where}: the Cloud Quotas source is closed")
        try:
            info = client.get_quota_info(
                name=quota_info_name(project), timeout=self.timeout_s, retry=None
            )
            return [
                ({str(k): str(v) for k, v in entry.dimensions.items()}, float(entry.details.value))
                for entry in info.dimensions_infos
            ]
        except Exception as exc:
            raise explain(exc, project, self.timeout_s) from exc

    def release(self) -> None:
        """The round is over: nothing to free here, the client is kept for the next one."""

    def close(self) -> None:
        """Close idle connections; a request hanging in another thread is not waited for."""
        with self._lock:
            client, self._client = self._client, None
            self._closed.set()
        if client is not None:
            with contextlib.suppress(Exception):
                client.transport.close()


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
