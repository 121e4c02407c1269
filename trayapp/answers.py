"""The answer people want from the cache ("8 H100 free in us-west1"), said one way everywhere.

`show`, the tray's Quotas menu, notifications and the terminal view all read check entries of
``trayapp.cache`` through these functions, so FREE, "not reported" and the filters mean the same
thing on every surface. Standard library only, like the cache reader.
"""

from __future__ import annotations

import time

from trayapp import words
from trayapp.cache import is_fresh, parse_time
from trayapp.safety.text import MAX_LINE, clean_line
from trayapp.words import ago, short_name

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence
    from typing import Any

NOT_REPORTED = words.NOT_REPORTED
__all__ = ["ago", "short_name"]  # said in trayapp.words, kept here for readers of this API
UNLIMITED = words.UNLIMITED
UNKNOWN = words.UNKNOWN


def metric_matches(metric: str, wanted: str) -> bool:
    """Full metric name or its short name, case-insensitive (``h100`` finds NVIDIA_H100_GPUS)."""
    key = wanted.strip().upper().replace(" ", "_").replace("-", "_")
    return key in (metric.upper(), short_name(metric))


def free(check: dict[str, Any]) -> float | None:
    """limit - usage of a reported check; None when unknown (not reported, failed, pending, or
    a limit without usage, as the Cloud Quotas family quota answers)."""
    if check.get("status") != "ok":
        return None
    limit, usage = check.get("limit"), check.get("usage")
    if not isinstance(limit, int | float) or not isinstance(usage, int | float):
        return None
    return limit - usage


def free_bound(check: dict[str, Any]) -> tuple[float, bool] | None:
    """(free, exact): exact free, or the limit as an upper bound when usage is unknown."""
    exact = free(check)
    if exact is not None:
        return exact, True
    if check.get("status") == "ok" and check.get("unlimited") is True:
        return float("inf"), False  # no limit: any amount may be free
    limit = check.get("limit")
    if check.get("status") == "ok" and isinstance(limit, int | float):
        return limit, False
    return None


def status_text(check: dict[str, Any]) -> str:
    """What a person reads in a status column; an absent metric is never a zero."""
    return words.state_text(check)


def clean(text: Any, limit: int = 120) -> str:
    """Text from the cache file as one printable line of at most ``limit`` characters."""
    return clean_line(text, limit)


def age_s(check: dict[str, Any], now: float | None = None) -> float | None:
    """Seconds since the check's answer arrived, or None when it never did."""
    fetched = check.get("fetched_at")
    if not isinstance(fetched, str):
        return None
    try:
        return (time.time() if now is None else now) - parse_time(fetched)
    except ValueError:
        return None


def select(
    checks: Iterable[dict[str, Any]],
    *,
    metrics: Sequence[str] = (),
    regions: Sequence[str] = (),
    min_free: float | None = None,
) -> list[dict[str, Any]]:
    """The checks that pass every filter. With ``min_free`` only checks that may have that
    many free (exactly, or within a limit whose usage is unknown), most free first."""
    wanted_regions = {r.strip().lower() for r in regions}
    rows = [
        c
        for c in checks
        if (not metrics or any(metric_matches(c["metric"], m) for m in metrics))
        and (not wanted_regions or c["region"].lower() in wanted_regions)
    ]
    if min_free is None:
        return rows
    bounded = [(c, free_bound(c)) for c in rows]
    kept = [(c, b) for c, b in bounded if b is not None and b[0] >= min_free]
    kept.sort(key=lambda cb: (-cb[1][0], not cb[1][1]))
    return [c for c, _ in kept]


def best_regions(
    checks: Iterable[dict[str, Any]], top: int = 3
) -> dict[str, list[tuple[str, float, bool]]]:
    """Per metric, in the order first seen: up to ``top`` (region, free, exact) with some free,
    most first. A metric no region reports maps to an empty list: say NOT_REPORTED for it."""
    found: dict[str, list[tuple[str, float, bool]]] = {}
    for check in checks:
        entries = found.setdefault(check["metric"], [])
        bound = free_bound(check)
        if bound is not None and bound[0] > 0:
            entries.append((check["region"], bound[0], bound[1]))
    return {
        metric: sorted(entries, key=lambda e: (-e[1], not e[2], e[0]))[:top]
        for metric, entries in found.items()
    }


def reported_anywhere(checks: Iterable[dict[str, Any]], metric: str) -> bool:
    """True when at least one region answered the metric (a value, even zero)."""
    return any(c["metric"] == metric and c.get("status") == "ok" for c in checks)


def format_free(check: dict[str, Any]) -> str:
    """FREE as every surface prints it: ``6``, ``≤ 8`` when only the limit is known, ``-`` for
    no such quota, ``unknown`` when nothing is known, ``unlimited`` when there is no limit."""
    if not_reported(check):
        return words.NO_QUOTA
    bound = free_bound(check)
    return words.UNKNOWN if bound is None else format_bound(*bound)


# --- a project at a glance ------------------------------------------------------------------


def in_error(check: dict[str, Any]) -> bool:
    """Its latest attempt failed: never fetched (``error``), or an older value kept."""
    return check.get("status") == "error" or bool(check.get("error"))


def project_state(checks: Sequence[dict[str, Any]], max_age_s: float, now: float) -> str:
    """``complete`` (every check fresh, none in error), ``failed`` (every check in error, or
    none fresh and some in error), ``incomplete`` (some in error or never fetched) or
    ``stale`` (all answered, some too old). A fresh value whose latest re-fetch failed still
    counts as in error: the warming that keeps it fresh is failing."""
    fresh = sum(is_fresh(c, max_age_s, now) for c in checks)
    errors = sum(in_error(c) for c in checks)
    if checks and fresh == len(checks) and not errors:
        return "complete"
    if errors and (errors == len(checks) or fresh == 0):
        return "failed"
    if errors or any(c.get("status") == "pending" for c in checks):
        return "incomplete"
    return "stale" if checks else "incomplete"


def updated_at(checks: Iterable[dict[str, Any]]) -> float | None:
    """When the newest answer among ``checks`` arrived (epoch seconds), None if none did."""
    times = answer_times(checks)
    return max(times) if times else None


def answer_span(checks: Iterable[dict[str, Any]]) -> tuple[float | None, float | None]:
    """(newest, oldest): when the newest and the oldest answer arrived, read in one pass."""
    times = answer_times(checks)
    return (max(times), min(times)) if times else (None, None)


def answer_times(checks: Iterable[dict[str, Any]]) -> list[float]:
    """When each answer among ``checks`` arrived (checks never answered have no time)."""
    times = []
    for check in checks:
        fetched = check.get("fetched_at")
        if not isinstance(fetched, str):
            continue
        try:
            times.append(parse_time(fetched))
        except ValueError:
            continue
    return times


def data_age(checks: Sequence[dict[str, Any]], now: float) -> str:
    """``updated 4 min ago, oldest 25 min ago``: the same words on every surface."""
    newest, oldest = answer_span(checks)
    return words.updated(
        None if newest is None else now - newest, None if oldest is None else now - oldest
    )


def format_bound(value: float, exact: bool) -> str:
    """``8`` or ``≤ 8`` (only the limit is known); ``unlimited``; a limit of 0 leaves ``0``
    free whatever the usage."""
    bound = exact or value == float("inf") or value <= 0
    return words.number(value) if bound else f"≤ {words.number(value)}"


def known(check: dict[str, Any]) -> bool:
    """Something is known: a value (even one whose re-fetch failed), or "not reported" from
    an answer that did not fail afterwards. Errors and pending checks are unknown."""
    status = check.get("status")
    return status == "ok" or (status == "absent" and not check.get("error"))


def nothing_free(check: dict[str, Any]) -> bool:
    """Known to have nothing to launch on: not reported, or less than one free (the limit,
    when usage is unknown): where asking for more quota is the answer."""
    bound = free_bound(check) if known(check) else None
    return not_reported(check) or (bound is not None and bound[0] < 1)


def not_reported(check: dict[str, Any]) -> bool:
    """The API answered and the region has no such quota (never a failed or unknown check)."""
    return check.get("status") == "absent" and not check.get("error")


def first_error(checks: Iterable[dict[str, Any]]) -> str | None:
    """The first failure among ``checks`` whose answer is unknown, cleaned (whole: it may end
    with the command that mends it)."""
    for check in checks:
        if not known(check) and check.get("error"):
            return clean(check["error"], MAX_LINE)
    return None


def summary_line(metric: str, checks: Iterable[dict[str, Any]], top: int = 2) -> str:
    """``H100 · 8 free us-west1 · 8 europe-west4``; ``H100 · not reported``; ``H100 · 0 free``."""
    rows = [c for c in checks if c["metric"] == metric]
    name = short_name(metric)
    best = best_regions(rows, top).get(metric, [])
    if best:
        parts = [f"{format_bound(best[0][1], best[0][2])} free {best[0][0]}"]
        parts += [f"{format_bound(free, exact)} {region}" for region, free, exact in best[1:]]
        return f"{name} · " + " · ".join(parts)
    if reported_anywhere(rows, metric):
        return f"{name} · 0 free"
    reason = first_error(rows)
    if reason:
        return f"{name} · {UNKNOWN}: {reason}"
    if any(not_reported(c) for c in rows):
        return f"{name} · {NOT_REPORTED}"
    return f"{name} · no answer yet"


def document_checks(doc: Any) -> list[dict[str, Any]]:
    """Every check entry of a cache document (as events carry it), each with its ``project``."""
    return [
        {"project": name, **check}
        for name, body in doc.get("projects", {}).items()
        for check in body.get("checks", ())
    ]


def metrics_in_order(checks: Iterable[dict[str, Any]], kind: str | None = None) -> list[str]:
    """The metrics of ``checks`` (of one kind, if given), in the order first seen."""
    return list(dict.fromkeys(c["metric"] for c in checks if kind is None or c["kind"] == kind))


def best_sentence(metric: str, checks: Iterable[dict[str, Any]]) -> str:
    """``H100: 8 free in us-west1`` (the region with the most), for a notification; a quota
    other than Compute VMs on-demand is named: ``H100 Spot, Vertex AI training: ...``."""
    from trayapp.sources.quota_names import short_label

    rows = [c for c in checks if c["metric"] == metric]
    name = short_label(rows[0], short_name(metric)) if rows else short_name(metric)
    best = best_regions(rows, 1).get(metric, [])
    if best:
        region, value, exact = best[0]
        where = region if "project" not in rows[0] else _where(rows, region)
        return f"{name}: {format_bound(value, exact)} free in {where}"
    if reported_anywhere(rows, metric):
        return f"{name}: none free"
    reason = first_error(rows)
    if reason:
        return f"{name}: {UNKNOWN} ({reason})"
    return f"{name}: {NOT_REPORTED}" if any(not_reported(c) for c in rows) else f"{name}: no answer"


def _where(rows: list[dict[str, Any]], region: str) -> str:
    projects = {c["project"] for c in rows}
    if len(projects) < 2:
        return region
    owners = [c["project"] for c in rows if c["region"] == region and free_bound(c)]
    return f"{region} ({owners[0]})" if owners else region
