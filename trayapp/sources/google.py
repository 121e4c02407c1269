"""The source the app runs: region quotas from Compute, GPU family quota from Cloud Quotas,
quota usage from Cloud Monitoring.

One object, so the warmer (and a process boundary in front of it) sees one QuotaSource. Built
from plain values only, so it can be re-created on the far side of a process boundary.
"""

from __future__ import annotations

from trayapp.sources.base import RegionQuotas
from trayapp.sources.capacity import CapacityAnswer, CapacityRequest
from trayapp.sources.cloudquotas import quotas_endpoint_for
from trayapp.sources.compute import ComputeSource
from trayapp.sources.compute_advice import ComputeAdviceSource
from trayapp.sources.compute_projects import ComputeProjectsSource
from trayapp.sources.monitoring import MonitoringSource, monitoring_endpoint_for
from trayapp.sources.preferences import Preference, PreferenceSource
from trayapp.sources.quota_rule import QuotaAnswer, QuotaRequest
from trayapp.sources.size_cap import MAX_ANSWER_BYTES
from trayapp.sources.usage import UsagePoint, UsageRequest


class GoogleSource:
    """``fetch`` through google-cloud-compute, ``fetch_quota`` through google-cloud-quotas.

    The Compute client is built at the first region fetch, not at ``prepare()``: a plan with
    no Compute check (Vertex AI and Cloud Build) never loads google-cloud-compute."""

    def __init__(
        self,
        endpoint: str | None,
        quotas_endpoint: str | None,
        timeout_s: float = 10.0,
        *,
        max_answer_bytes: int = MAX_ANSWER_BYTES,
        prepare_compute: bool = True,
        quota_project: str | None = None,
        monitoring_endpoint: str | None = None,
    ) -> None:
        self.prepare_compute = prepare_compute
        self.compute = ComputeSource(
            endpoint, timeout_s=timeout_s, max_answer_bytes=max_answer_bytes
        )
        # projects.get: built only when a launch needs the project-wide quotas
        self.projects = ComputeProjectsSource(
            endpoint, timeout_s=timeout_s, max_answer_bytes=max_answer_bytes
        )
        # advice.capacity: built only when a launch asks whether its machines are there
        self.advice = ComputeAdviceSource(
            endpoint, timeout_s=timeout_s, max_answer_bytes=max_answer_bytes
        )
        self.quotas = PreferenceSource(  # QuotaInfos, and the quota preferences
            quotas_endpoint_for(endpoint, quotas_endpoint),
            timeout_s=timeout_s,
            max_answer_bytes=max_answer_bytes,
            quota_project=quota_project,
        )
        # quota usage: built at the first fetch_usage, never at prepare()
        self.monitoring = MonitoringSource(
            monitoring_endpoint_for(self.quotas.endpoint, monitoring_endpoint) or None,
            timeout_s=timeout_s,
            max_answer_bytes=max_answer_bytes,
            quota_project=quota_project,
        )

    def prepare(self) -> None:
        """The Cloud Quotas client before the first timed batch (Compute's at its first fetch,
        unless ``prepare_compute`` says the plan has Compute checks)."""
        if self.prepare_compute:
            self.compute.prepare()
        self.quotas.prepare()

    @property
    def requests(self) -> int:
        """HTTP requests both clients have sent (a paged list: one a page)."""
        clients = (self.compute, self.projects, self.advice, self.quotas, self.monitoring)
        return sum(client.requests for client in clients)

    def fetch(self, project: str, region: str) -> RegionQuotas:
        return self.compute.fetch(project, region)

    def fetch_quota(self, project: str, request: QuotaRequest) -> QuotaAnswer | None:
        return self.quotas.fetch_quota(project, request)

    def fetch_project(self, project: str) -> RegionQuotas:
        return self.projects.fetch_project(project)

    def fetch_preferences(self, project: str) -> list[Preference]:
        return self.quotas.fetch_preferences(project)

    def fetch_capacity(self, project: str, request: CapacityRequest) -> CapacityAnswer:
        return self.advice.fetch_capacity(project, request)

    def fetch_usage(self, project: str, request: UsageRequest) -> list[UsagePoint]:
        return self.monitoring.fetch_usage(project, request)

    def release(self) -> None:
        for source in (self.monitoring, self.compute, self.projects, self.advice, self.quotas):
            source.release()

    def close(self) -> None:
        for source in (self.monitoring, self.compute, self.projects, self.advice, self.quotas):
            source.close()
