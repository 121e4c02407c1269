"""Whether the quotas regions.get answers may be raised: their Cloud Quotas QuotaInfo
(``NVIDIA-T4-GPUS-per-project-region``, ``PREEMPTIBLE-...`` for Spot, ``C3-CPUS-...``) says
it, once per metric per cycle for every region at once. A metric whose QuotaInfo is not found
keeps its eligibility unknown; a failure leaves it unknown too, and fails no check. Standard
library only, like the warmer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from trayapp.sources.compute_family import SERVICE
from trayapp.sources.quota_rule import QuotaRequest
from trayapp.warming.state import reported_name

if TYPE_CHECKING:
    from trayapp.warming.extras import Told
    from trayapp.warming.plan import QuotaCheck
    from trayapp.warming.state import CheckState, WarmState

PREFIX = "eligibility"


class EligibilityLane:
    """The ``eligibility:<quota ID>`` calls of a project: one per Compute metric it reads."""

    name = PREFIX
    api = "cloudquotas"

    def keys(self, state: WarmState, project: str) -> list[str]:
        """A metric some region reported (one no region has, like the GPU family quota's, has
        no QuotaInfo of its own: asking would cost a list)."""
        reported = (c for c, s in _read(state, project) if s.status == "ok")
        return list(dict.fromkeys(f"{PREFIX}:{quota_id(c)}" for c in reported))

    def describe(self, project: str, key: str) -> str:
        return f"{project}/whether {key.partition(':')[2]} may be raised"

    def ask(self, source: Any, project: str, key: str) -> Any:
        wanted = key.partition(":")[2]
        metric = wanted.removesuffix("-per-project-region").replace("-", "_").lower()
        return source.fetch_quota(project, QuotaRequest(SERVICE, wanted, f"{SERVICE}/{metric}"))

    def apply(
        self, state: WarmState, project: str, key: str, answer: Any, fetched_at: str
    ) -> list[Told]:
        said = getattr(answer, "eligibility", None)  # None: no such QuotaInfo, or not said
        for check, s in _read(state, project):
            if f"{PREFIX}:{quota_id(check)}" == key:
                s.eligibility = said
        return []


def quota_id(check: QuotaCheck) -> str:
    """``NVIDIA-T4-GPUS-per-project-region`` for the metric regions.get reports for ``check``."""
    return f"{reported_name(check).replace('_', '-')}-per-project-region"


def _read(state: WarmState, project: str) -> list[tuple[QuotaCheck, CheckState]]:
    """The project's regional checks that regions.get answered."""
    return [
        (c, s)
        for c, s in state.checks.items()
        if c.project == project and s.source == "compute" and c.kind != "global"
    ]
