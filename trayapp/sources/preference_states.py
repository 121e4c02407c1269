"""Following quota increase requests: what a QuotaPreference means to a person, and which
changes are worth saying.

A preference (``sources.preferences.Preference``) becomes the cache's ``requests`` entry: its
state (``pending`` while Google reconciles it, ``granted`` when the value granted reaches the
one asked for, ``partly granted`` below it, ``denied`` or ``needs support`` as its
``stateDetail`` says) and the quota named the way every surface names it ("H100 Spot, Vertex
AI training"). Only the preferences for quotas the app reads are kept, whoever filed them.
Pure and standard library only: the warmer calls it; no email or justification ever reaches
it.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any, NamedTuple

from trayapp import words
from trayapp.safety.text import clean_line
from trayapp.sources import compute_family, quota_names, vertex

STATES = ("pending", "granted", "partly granted", "denied", "needs support")
_SERVICE_KEYS = {api: key for key, api in quota_names.API_NAMES.items()}
_VERTEX = re.compile(r"CustomModelTraining(Preemptible)?([A-Za-z0-9]+?)GPUsPerProjectPerRegion")
_COMPUTE = re.compile(r"(PREEMPTIBLE-)?([A-Z0-9-]+)-per-project-region")
_SPOT_FAMILY = "PREEMPTIBLE-GPUS-PER-GPU-FAMILY-per-project-region"
_SUPPORT = re.compile(r"\bsupport\b", re.IGNORECASE)
_DENIED = re.compile(r"\b(denied|deny|rejected|declined|not approved)\b", re.IGNORECASE)
_MAX_TEXT = 300


class Change(NamedTuple):
    """One state change of a request: ``log`` in the log's voice, ``notice`` in the plain
    voice of a notification ("" when it is not worth a notification)."""

    name: str
    before: str | None  # the old state; None for a request seen for the first time
    state: str
    log: str
    notice: str


def state_of(reconciling: bool, preferred: int, granted: int | None, detail: str) -> str:
    """The one word for where a request stands."""
    if reconciling:
        return "pending"
    if granted is not None and (granted >= preferred or granted < 0):
        return "granted"  # a negative grant is unlimited
    if _SUPPORT.search(detail):
        return "needs support"
    if _DENIED.search(detail) or not granted:
        return "denied"
    return "partly granted"


def quota_of(
    service: str, quota_id: str, dimensions: dict[str, str]
) -> tuple[str | None, str | None]:
    """(short metric name, tier) of the quota a preference asks about: ``("H100", "spot")``;
    (None, None) for a quota the app has no name for."""
    if service == vertex.SERVICE:
        if quota_id == vertex.SPOT_CPUS.quota_id:
            return "training CPUs", "spot"
        found = _VERTEX.fullmatch(quota_id)
        if found:
            return found.group(2), "spot" if found.group(1) else "on-demand"
        return None, None
    if service == compute_family.SERVICE:
        if quota_id in (compute_family.QUOTA_ID, _SPOT_FAMILY):
            family = dimensions.get("gpu_family", "")
            tier = "spot" if quota_id == _SPOT_FAMILY else "on-demand"
            return (words.short_name(f"{family}_GPUS") if family else None), tier
        found = _COMPUTE.fullmatch(quota_id)
        if found:
            metric = words.short_name(found.group(2).replace("-", "_"))
            return metric, "spot" if found.group(1) else "on-demand"
        return None, None
    if service == quota_names.API_NAMES["cloudbuild"]:
        return "C3", "on-demand"
    return None, None


def label(entry: dict[str, Any]) -> str:
    """``H100 Spot, Vertex AI training``: the quota of a cache entry, as people read it."""
    service = _SERVICE_KEYS.get(str(entry.get("service")))
    metric, tier = entry.get("metric"), entry.get("tier")
    if service is None or not isinstance(metric, str) or not metric:
        return clean_line(f"{entry.get('quota_id') or 'quota'}", 120)
    check = {"service": service, "tier": tier or "on-demand"}
    return clean_line(quota_names.short_label(check, metric), 120)


def entry(preference: Any) -> dict[str, Any]:
    """The cache's ``requests`` entry of one ``Preference``."""
    p = preference
    dimensions = {str(k): str(v) for k, v in dict(p.dimensions).items()}
    metric, tier = quota_of(p.service, p.quota_id, dimensions)
    return {
        "name": p.name,
        "id": p.name.rsplit("/", 1)[-1],
        "service": p.service,
        "quota_id": p.quota_id,
        "dimensions": dimensions,
        "region": dimensions.get("region") or None,
        "metric": metric,
        "tier": tier,
        "preferred": int(p.preferred),
        "granted": None if p.granted is None else int(p.granted),
        "reconciling": bool(p.reconciling),
        "state": state_of(bool(p.reconciling), int(p.preferred), p.granted, p.state_detail),
        "state_detail": p.state_detail,
        "trace_id": p.trace_id,
        "created_at": _iso(p.created_at),
        "updated_at": _iso(p.updated_at),
    }


def _iso(seconds: float | None) -> str | None:
    if seconds is None:
        return None
    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="milliseconds")


def concerns(preference: Any, quotas: set[tuple[str, str]] | frozenset[tuple[str, str]]) -> bool:
    """Whether a preference asks about a quota the app reads: its (service, quota ID) is one
    of the plan's."""
    return (preference.service, preference.quota_id) in quotas


def entries(preferences: list[Any], quotas: set[tuple[str, str]]) -> list[dict[str, Any]]:
    """The ``requests`` list of a project: the entries of the preferences it concerns, by name."""
    kept = [entry(p) for p in preferences if concerns(p, quotas)]
    return sorted(kept, key=lambda e: e["name"])


def changes(old_entries: list[dict[str, Any]], new_entries: list[dict[str, Any]]) -> list[Change]:
    """The changes worth saying between two ``requests`` lists: a request decided (granted,
    partly granted, denied, needs support) or filed again. A request first seen already
    decided is not news (the app may have been off), so it is not said."""
    old = {e.get("name"): e for e in old_entries if isinstance(e, dict)}
    said: list[Change] = []
    for new in new_entries:
        before = old.get(new.get("name"))
        was = before.get("state") if before is not None else None
        state = str(new.get("state"))
        if state == was or (was is None and state != "pending"):
            continue
        log, notice = lines(new)
        said.append(Change(str(new.get("name")), was, state, log, notice))
    return said


def lines(e: dict[str, Any]) -> tuple[str, str]:
    """(log line, notification line) of a request in its present state."""
    quota, state = label(e), e.get("state")
    where = f" in {clean_line(e['region'], 60)}" if e.get("region") else ""
    wanted, granted = _count(e.get("preferred")), _count(e.get("granted"))
    why = f" ({reason(e)})" if reason(e) else ""
    if state == "granted":
        return (
            f"🎉 {quota}: granted {granted}{where}",
            f"Quota granted: {quota}, {granted}{where}",
        )
    if state == "partly granted":
        return (
            f"🤏 {quota}: partly granted {granted} of {wanted}{where}{why}",
            f"Quota partly granted: {quota}, {granted} of {wanted}{where}{why}",
        )
    if state in ("denied", "needs support"):
        head = "denied" if state == "denied" else "needs Cloud Support"
        return (
            f"🚫 {quota}: request for {wanted}{where} {head}{why}",
            f"Quota request {head}: {quota}, {wanted}{where}{why}",
        )
    return f"📨 {quota}: asked for {wanted}{where}, under review", ""


def reason(e: dict[str, Any]) -> str:
    """``Denied: ...; trace ID 4f2a``: Google's word on a request, and what Support needs."""
    detail = clean_line(e.get("state_detail") or "", _MAX_TEXT)
    trace = clean_line(e.get("trace_id") or "", 80)
    return "; ".join(x for x in (detail, f"trace ID {trace}" if trace else "") if x)


def _count(value: Any) -> str:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return words.UNLIMITED if value < 0 else words.number(float(value))
    return words.UNKNOWN


def summary(e: dict[str, Any], now: float) -> str:
    """One line per request for every surface: ``H100 Spot, Vertex AI training in
    us-central1: granted 40 of 40 · 2 h ago``."""
    where = f" in {clean_line(e['region'], 60)}" if e.get("region") else ""
    state = clean_line(e.get("state") or "pending", 20)
    wanted, granted = _count(e.get("preferred")), _count(e.get("granted"))
    said = f"{state}, asked {wanted}" if state in ("pending", "denied") else f"{state}"
    if state in ("granted", "partly granted"):
        said += f" {granted} of {wanted}"
    elif state == "needs support":
        said += f", asked {wanted}"
    return f"{label(e)}{where}: {said} · {words.ago(age(e, now))}"


def age(e: dict[str, Any], now: float) -> float | None:
    """Seconds since the request last changed (or was filed); None when Google said neither."""
    for key in ("updated_at", "created_at"):
        stamp = e.get(key)
        if isinstance(stamp, str):
            try:
                return max(0.0, now - datetime.fromisoformat(stamp).timestamp())
            except ValueError:
                continue
    return None
