"""Compute's ``advice.capacity``: whether the machines of a launch are there to be had, per
region, through google-cloud-compute's AdviceClient (REST; or the emulator on loopback). One
request per call, no retry of its own: the warmer owns retries. A project or region where the
API is not offered leaves as ``SourceError("not_offered", "... capacity advice is not offered
...")``: an answer, not a failure to retry."""

from __future__ import annotations

from typing import Any

from trayapp.safety.text import clean_line
from trayapp.sources.base import SourceError
from trayapp.sources.capacity import (
    MAX_ZONES,
    NOT_OFFERED_TEXT,
    CapacityAnswer,
    CapacityRequest,
    request_body,
    score_of,
    uptime_seconds,
    zone_name,
)
from trayapp.sources.compute import GoogleClientSource, explain
from trayapp.sources.errors import classify

# How Google answers where the method is not offered: an unknown method or a region without it
# (404), a request it cannot serve there (400), a method not implemented for the project (501).
NOT_OFFERED_STATUSES = frozenset({400, 404, 501})


class ComputeAdviceSource(GoogleClientSource):
    """Capacity advice for one shape, count and provisioning model in one region."""

    LIBRARY = "google-cloud-compute"
    NAME = "Compute"

    def _client_class(self) -> Any:
        from google.cloud import compute_v1

        return compute_v1.AdviceClient

    def fetch_capacity(self, project: str, request: CapacityRequest) -> CapacityAnswer:
        """The advice for ``request`` in its region: the first recommendation's scores and the
        zones of its shards; SourceError on failure."""
        import json

        from google.cloud import compute_v1

        where = f"{project}/{request.region}/capacity advice"
        client = self._ready_client(where)
        body = compute_v1.CapacityAdviceRequest.from_json(json.dumps(request_body(request)))
        try:
            self._sent()
            answer = client.capacity(
                project=project,
                region=request.region,
                capacity_advice_request_resource=body,
                timeout=self.timeout_s,
                retry=None,
            )
        except Exception as exc:
            raise self._failed(client, _refusal(exc, project, where, self.timeout_s)) from exc
        return read_answer(answer)


def read_answer(answer: Any) -> CapacityAnswer:
    """CapacityAdviceResponse -> CapacityAnswer: the first recommendation (Google gives one,
    "which balances the individual scores"); no recommendation: no score, no zones."""
    if not answer.recommendations:
        return CapacityAnswer(None, None, ())
    first = answer.recommendations[0]
    scores = first.scores
    score = score_of(scores.obtainability) if "obtainability" in scores else None
    uptime = uptime_seconds(scores.estimated_uptime) if "estimated_uptime" in scores else None
    zones: list[str] = []
    for shard in first.shards:
        name = zone_name(shard.zone)
        if name and name not in zones and len(zones) < MAX_ZONES:
            zones.append(name)
    return CapacityAnswer(score, uptime, tuple(zones))


def _refusal(exc: BaseException, project: str, where: str, timeout_s: float) -> SourceError:
    """``classify``, except that the statuses Google gives where advice is not offered become
    ``not_offered`` saying so (the quota is still known, nothing is broken), and the Compute
    API disabled says how to enable it (``explain``)."""
    import re

    from google.api_core import exceptions as api

    code = exc.code if isinstance(exc, api.GoogleAPICallError) else None
    if code in NOT_OFFERED_STATUSES:
        said = re.sub(r"^[A-Z]+ \S+: ", "", str(getattr(exc, "message", "") or ""))
        said = clean_line(said, 120)
        return SourceError(
            "not_offered", f"{where}: {NOT_OFFERED_TEXT} here (HTTP {code}): {said}".rstrip(": ")
        )
    error = explain(exc, project, where, timeout_s)
    return error if "is disabled" in error.message else classify(exc, where, timeout_s)
