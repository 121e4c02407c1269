"""Which API call answers a check, and how one call's answer fills every check it answers.

A call is keyed ``(project, what)``: ``what`` is a region for Compute's regions.get (every
metric of one region), ``project`` for Compute's projects.get (the project-wide quotas), or a
Cloud Quotas QuotaInfo named ``<service>:<tier>[:<metric>]``: ``vertex:spot:NVIDIA_T4_GPUS``
(every region of one GPU type and tier; with ``CUSTOM_MODEL_TRAINING_PREEMPTIBLE_CPUS`` for the
metric, the Spot training CPUs), ``cloudbuild:on-demand`` (every region), ``family:on-demand``
(the Compute GPU family quota, asked for what regions.get did not report). Region names never
hold a colon, and none is named ``project``. Standard library only, like the warmer.
"""

from __future__ import annotations

from typing import Any

from trayapp.sources import cloudbuild, compute_family, vertex
from trayapp.sources.quota_names import SERVICE_NAMES
from trayapp.sources.quota_rule import QuotaAnswer, QuotaRequest, resolve
from trayapp.warming.plan import QuotaCheck

Call = tuple[str, str]  # (project, region) or (project, "<service>:<tier>[:<metric>]")


PROJECT = "project"  # projects.get: the project-wide quotas (no region is named so)


def call_of(check: QuotaCheck) -> Call:
    """The call that answers ``check`` first (a Compute GPU check its region may not report
    goes on to the family call, see ``quota_calls``)."""
    if check.kind == "global":
        return (check.project, PROJECT)
    if check.service == "vertex":
        return (check.project, f"vertex:{check.tier}:{check.metric}")
    if check.service == "cloudbuild":
        return (check.project, f"cloudbuild:{check.tier}")
    return (check.project, check.region)


def family_call(project: str, tier: str) -> Call:
    return (project, f"family:{tier}")


def is_quota_call(call: Call) -> bool:
    """A Cloud Quotas call (not a region's regions.get)."""
    return ":" in call[1]


def is_family_call(call: Call) -> bool:
    return call[1].startswith("family:")


def request_of(call: Call) -> QuotaRequest:
    """The QuotaInfo a Cloud Quotas call asks for."""
    service, tier, *rest = call[1].split(":", 2)
    spot = tier == "spot"
    if service == "vertex":
        return vertex.request(rest[0], spot)
    if service == "cloudbuild":
        return cloudbuild.request()
    return compute_family.request(spot)


def wanted(check: QuotaCheck) -> dict[str, str]:
    """The dimensions besides ``region`` an entry may carry and still apply to ``check``."""
    if check.service == "cloudbuild":
        return dict(cloudbuild.WANTED)
    if check.service == "compute":
        family = compute_family.family_of(check.metric)
        return {"gpu_family": family} if family else {}
    return {}


def value_for(check: QuotaCheck, answer: QuotaAnswer) -> float | None:
    """The limit ``answer`` gives ``check`` by the one rule (None: not reported there)."""
    return resolve(answer.entries, check.region, wanted(check))


def ask(source: Any, call: Call) -> Any:
    """Make the call: regions.get, or a Cloud Quotas QuotaInfo (None: not served)."""
    project, what = call
    if is_quota_call(call):
        return source.fetch_quota(project, request_of(call))
    if what == PROJECT:
        return source.fetch_project(project)
    return source.fetch(project, what)


def describe(call: Call) -> str:
    """``proj/us-central1``, ``proj/Vertex AI training T4 Spot``: where, for messages."""
    project, what = call
    if what == PROJECT:
        return f"{project}/project-wide quotas"
    if not is_quota_call(call):
        return f"{project}/{what}"
    service, tier, *rest = what.split(":", 2)
    name = {"family": "GPU family quota"}.get(service) or SERVICE_NAMES[service]
    what_of = "training CPUs" if rest and rest[0] == vertex.CPUS else None
    gpu = f" {what_of or vertex.gpu_model(rest[0]) or rest[0]}" if rest else ""
    spot = " Spot" if tier == "spot" else ""
    return f"{project}/{name}{gpu}{spot}"
