"""What a fetcher process needs to build its quota source: plain values, nothing else.

The recipe crosses a process boundary (pickled by multiprocessing), so it holds no client, no
credentials and no token: the process that builds the source resolves credentials itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from trayapp.sources.size_cap import MAX_ANSWER_BYTES

if TYPE_CHECKING:
    from trayapp.sources.google import GoogleSource


@dataclass(frozen=True)
class SourceRecipe:
    """The settings a real source is made from. ``quotas_endpoint`` is for the Cloud Quotas
    source; ``max_answer_bytes`` is the largest answer a fetch accepts."""

    endpoint: str | None = None
    timeout_s: float = 10.0
    quotas_endpoint: str | None = None
    max_answer_bytes: int = MAX_ANSWER_BYTES
    prepare_compute: bool = True  # False: no Compute check, google-cloud-compute never loads
    quota_project: str | None = None  # [auth] quota_project: see sources.quota_project
    # Cloud Monitoring (gRPC): None is Google's, or none beside a loopback quotas endpoint
    monitoring_endpoint: str | None = None

    def __post_init__(self) -> None:
        if self.timeout_s <= 0:
            raise ValueError("timeout_s must be positive")
        self.build()  # refuse a bad endpoint here, in the caller's process, not later

    def build(self) -> GoogleSource:
        """The real source (Compute and Cloud Quotas); cheap: Google's libraries load at its
        prepare()."""
        from trayapp.sources.google import GoogleSource

        return GoogleSource(
            self.endpoint,
            self.quotas_endpoint,
            self.timeout_s,
            max_answer_bytes=self.max_answer_bytes,
            prepare_compute=self.prepare_compute,
            quota_project=self.quota_project,
            monitoring_endpoint=self.monitoring_endpoint,
        )
