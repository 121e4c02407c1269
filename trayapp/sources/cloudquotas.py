"""QuotaInfos from the Cloud Quotas API, through google-cloud-quotas (REST): the Compute GPU
family quota (what regions.get does not report), Vertex AI training GPUs, Cloud Build private
pools. A QuotaInfo is asked by ID when one is known, else found in the service's list by
metric, page by page (``MAX_PAGES`` at most). Like ``ComputeSource``: nothing from google is
imported until ``prepare()``, an ``http://`` loopback endpoint gets anonymous credentials, no
request is retried by the library (the warmer owns retries), and every failure leaves as
``SourceError``. Every request carries its quota project (``quota_project``). The failures a
person must mend (API disabled, permission missing, QuotaInfo not served, the quota project
refused) carry a message saying exactly what to do.
"""

from __future__ import annotations

from typing import Any

from trayapp.safety.text import clean_line
from trayapp.sources import fixes
from trayapp.sources.base import SourceError
from trayapp.sources.compute import GoogleClientSource, is_loopback_url
from trayapp.sources.compute_family import request as family_request
from trayapp.sources.errors import classify
from trayapp.sources.quota_project import HEADER, choose, from_credentials
from trayapp.sources.quota_rule import QuotaAnswer, QuotaEntry, QuotaRequest

DEFAULT_QUOTAS_ENDPOINT = "https://cloudquotas.googleapis.com"


def quotas_endpoint_for(endpoint: str | None, quotas_endpoint: str | None = None) -> str:
    """The Cloud Quotas URL in effect: as set, else the Compute endpoint when that is a
    loopback ``http://`` URL (the emulator serves both, so nothing goes to Google), else
    Google's."""
    if quotas_endpoint:
        return quotas_endpoint
    if endpoint and endpoint.startswith("http://") and is_loopback_url(endpoint):
        return endpoint
    return DEFAULT_QUOTAS_ENDPOINT


# What each service's quota tells a person, for the fixes a failure names. Compute's family
# quota is asked for any GPU a region's regions.get did not list (an A100 in a region without
# one as much as an H100): the reason is said, not a GPU class.
WHAT = {
    "compute.googleapis.com": "the GPU family quota (asked because regions.get did not list "
    "this GPU in its region)",
    "aiplatform.googleapis.com": "Vertex AI training GPU quota",
    "cloudbuild.googleapis.com": "Cloud Build private pool quota",
}
PAGE_SIZE = 100  # QuotaInfos asked for on each page of a list (the server may send fewer)
MAX_PAGES = 50  # pages read from one list at most: a list that never ends fails its call
MAX_ENTRIES = 10_000  # dimension entries kept from one QuotaInfo; a flood is cut here
_MAX_NAME = 200


class CloudQuotasSource(GoogleClientSource):
    """QuotaInfos of a project: by ID, or from the service's list by metric. Safe to call from
    several threads at once."""

    LIBRARY = "google-cloud-quotas"
    NAME = "Cloud Quotas"
    CLIENT_OPTIONS = {"transport": "rest"}  # noqa: RUF012 - read only

    def __init__(self, *args: Any, quota_project: str | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.quota_project = quota_project  # [auth] quota_project, when given
        self.adc_quota_project: str | None = None  # the credentials' own, read with the client

    def _client_class(self) -> Any:
        from google.cloud import cloudquotas_v1

        return cloudquotas_v1.CloudQuotasClient

    def _build_client(self) -> Any:
        self.adc_quota_project = from_credentials()  # as google-auth reads it
        return super()._build_client()

    def billed_to(self, project: str) -> str:
        """The quota project of a request about ``project`` (``x-goog-user-project``): the one
        client serves every project, so each request names its own."""
        return choose(project, self.adc_quota_project, self.quota_project)

    def fetch_quota(self, project: str, request: QuotaRequest) -> QuotaAnswer | None:
        """The QuotaInfo ``request`` names: by ID (a 404 falls back to the list once), else the
        first of the service's list whose metric matches. None when the service has no such
        QuotaInfo."""
        where = f"{project}/{request.quota_id or request.metric}"
        client = self._ready_client(where)
        parent = f"projects/{project}/locations/global/services/{request.service}"
        billed = self.billed_to(project)
        metadata = ((HEADER, billed),)  # every page of a list carries it too
        try:
            if request.quota_id:
                from google.api_core.exceptions import NotFound

                try:
                    self._sent()
                    info = client.get_quota_info(
                        name=f"{parent}/quotaInfos/{request.quota_id}",
                        timeout=self.timeout_s,
                        retry=None,
                        metadata=metadata,
                    )
                    return _answer(info)
                except NotFound:
                    pass  # the ID is not served: the list, by metric
            return self._from_list(client, parent, request, where, metadata)
        except Exception as exc:
            failure = explain(exc, project, self.timeout_s, request, billed)
            raise self._failed(client, failure) from exc

    def _from_list(
        self, client: Any, parent: str, request: QuotaRequest, where: str, metadata: Any
    ) -> QuotaAnswer | None:
        """The first QuotaInfo of the list whose metric matches, page by page. A server that
        repeats a page token, or has not ended the list after ``MAX_PAGES`` pages, fails this
        call alone (``bad_response``: asked again later), never reading on forever."""
        self._sent()
        pager = client.list_quota_infos(
            request={"parent": parent, "page_size": PAGE_SIZE},
            timeout=self.timeout_s,
            retry=None,
            metadata=metadata,  # every page carries it
        )
        tokens: set[str] = set()
        for number, page in enumerate(pager.pages, start=1):  # each next page: one request
            for info in page.quota_infos:
                if str(info.metric) == request.metric:
                    return _answer(info)
            token = str(page.next_page_token)
            if not token:
                return None
            what = WHAT.get(request.service, f"{request.service} quota")
            if token in tokens:
                why = f"repeated a page token after {number} pages"
            elif number >= MAX_PAGES:
                why = f"did not end within {MAX_PAGES} pages"
            else:
                tokens.add(token)
                self._sent()
                continue
            raise SourceError(
                "bad_response", f"{where}: the Cloud Quotas list {why}: {what} is unknown"
            )
        return None


def _answer(info: Any) -> QuotaAnswer:
    """Plain values out of a QuotaInfo message; names from outside are cleaned and capped."""
    entries = []
    for entry in list(info.dimensions_infos)[:MAX_ENTRIES]:
        dimensions = {
            clean_line(str(k), _MAX_NAME): clean_line(str(v), _MAX_NAME)
            for k, v in entry.dimensions.items()
        }
        locations = tuple(clean_line(str(x), _MAX_NAME) for x in entry.applicable_locations)
        entries.append(QuotaEntry(dimensions, float(entry.details.value), locations))
    return QuotaAnswer(
        clean_line(str(info.quota_id), _MAX_NAME),
        clean_line(str(info.metric), _MAX_NAME),
        tuple(entries),
        eligibility(info),
        bool(info.is_concurrent),  # proto3: absent is false
    )


def eligibility(info: Any) -> str | None:
    """``fixed``, ``eligible``, or why not (``not_enough_usage_history``); None when the
    QuotaInfo does not say (no ``quotaIncreaseEligibility``)."""
    if bool(info.is_fixed):
        return "fixed"
    if "quota_increase_eligibility" not in info:
        return None
    said = info.quota_increase_eligibility
    if said.is_eligible:
        return "eligible"
    reason = getattr(said.ineligibility_reason, "name", str(said.ineligibility_reason))
    reason = clean_line(str(reason), 60).lower()
    return "other" if reason in ("", "ineligibility_reason_unspecified") else reason


def explain(
    exc: BaseException,
    project: str,
    timeout_s: float,
    request: QuotaRequest | None = None,
    billed: str | None = None,
) -> SourceError:
    """The core's classification, with what to do for the failures a person must mend; a
    refusal is read from its ErrorInfo whole (reason, and the project billed: ``billed`` is
    the quota project the request named)."""
    request = request or family_request(False)
    what = WHAT.get(request.service, f"{request.service} quota")
    asked = request.quota_id or request.metric
    error = classify(exc, f"{project}/{asked}", timeout_s)
    if error.kind == "permission":
        reason, metadata = fixes.error_info(exc)
        line = fixes.cloud_quotas(reason, metadata, project, billed or project, what)
        return SourceError("permission", line)
    if error.kind == "not_found":
        return SourceError(
            "not_found",
            f"the Cloud Quotas endpoint does not serve {request.service} quotas of project "
            f"{project} (HTTP 404): check --quotas-endpoint; {what} is unknown",
        )
    return error
