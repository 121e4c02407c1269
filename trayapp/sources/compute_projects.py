"""Compute's ``projects.get``: the project-wide quotas (``GPUS_ALL_REGIONS``,
``CPUS_ALL_REGIONS``) that a launch consumes besides its region's, one request per project per
cycle, through google-cloud-compute's ProjectsClient (or the emulator on loopback)."""

from __future__ import annotations

from typing import Any

from trayapp.sources.base import RegionQuotas
from trayapp.sources.compute import GoogleClientSource
from trayapp.sources.errors import classify


class ComputeProjectsSource(GoogleClientSource):
    """The project's own quotas, read like a region's: one request, no retry of its own."""

    LIBRARY = "google-cloud-compute"
    NAME = "Compute"

    def _client_class(self) -> Any:
        from google.cloud import compute_v1

        return compute_v1.ProjectsClient

    def fetch_project(self, project: str) -> RegionQuotas:
        """Every project-wide quota of ``project`` (an empty map when it lists none)."""
        where = f"{project}/project-wide quotas"
        client = self._ready_client(where)
        try:
            self._sent()
            answer = client.get(project=project, timeout=self.timeout_s, retry=None)
        except Exception as exc:
            raise self._failed(client, classify(exc, where, self.timeout_s)) from exc
        return {q.metric: (float(q.limit), float(q.usage)) for q in answer.quotas}
