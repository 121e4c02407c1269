"""One word for each thing, on every surface.

`show`, `status`, the terminal view, the tray and notifications say a check's numbers, state
and age, a GPU's name and the data's age through these functions, so the same cache reads the
same wherever a person looks. Standard library only, like the cache reader.
"""

from __future__ import annotations

import re

from trayapp.safety.text import clean_line, quoted_around

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

COLUMNS = ("REGION", "METRIC", "LIMIT", "USAGE", "FREE", "AGE", "STATUS")
UNKNOWN = "unknown"  # a number nobody knows: usage the API does not give, a check not answered
NO_QUOTA = "-"  # a number of a quota the region does not have (not reported): there is none
NOT_REPORTED = "not reported"
UNLIMITED = "unlimited"  # a quota with no limit (a negative Cloud Quotas value)
NEVER = "never"  # the age of a check that was never answered
REASON_WIDTH = 160  # an error's reason in a table cell, cut at a word: room for the fix to run
_WHERE = re.compile(r"^[^\s:/]+/[^\s:/]+: ")  # "my-project/us-east1: " before a reason


def short_name(metric: str) -> str:
    """``NVIDIA_H100_GPUS`` -> ``H100``, ``NVIDIA_A100_80GB_GPUS`` -> ``A100_80GB``,
    ``C3_CPUS`` -> ``C3``; other names stay as they are."""
    name = metric.upper()
    for suffix in ("_GPUS", "_CPUS"):
        if name.endswith(suffix):
            name = name[: -len(suffix)]
            break
    return name.removeprefix("NVIDIA_")


def ago(seconds: float | None) -> str:
    """``just now``, ``4 min ago``, ``1.5 h ago``: every age on every surface. Under a minute
    is ``just now``, so a text redrawn once a minute (the tray's) is never wrong."""
    if seconds is None:
        return NEVER
    seconds = max(0.0, seconds)
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{seconds // 60:.0f} min ago"
    if seconds < 86400:
        return f"{seconds / 3600:.1f} h ago"
    return f"{seconds / 86400:.1f} days ago"


def duration(seconds: float | None) -> str:
    """``45 s``, ``2 min 5 s``, ``1 h 30 min``: how long something takes or waits (a retry,
    a cycle), said alike by the tray, notifications and ``status``; "" when unknown."""
    if seconds is None or isinstance(seconds, bool):
        return ""
    try:
        value = max(0.0, float(seconds))
    except (TypeError, ValueError):
        return ""
    if value < 100:
        return f"{value:.0f} s"
    minutes, secs = divmod(round(value), 60)
    return f"{minutes} min {secs} s" if minutes < 60 else f"{minutes // 60} h {minutes % 60} min"


def updated(newest_s: float | None, oldest_s: float | None = None) -> str:
    """The data's age: ``updated 4 min ago`` (the newest answer), and ``, oldest 25 min ago``
    when the oldest answer reads older."""
    if newest_s is None:
        return "never updated"
    text = f"updated {ago(newest_s)}"
    if oldest_s is not None and ago(oldest_s) != ago(newest_s):
        text += f", oldest {ago(oldest_s)}"
    return text


def number(value: float) -> str:
    """``8``, ``8.5``: a count as people write it; no limit at all is ``unlimited``."""
    if value == float("inf"):
        return UNLIMITED
    return f"{value:.0f}" if float(value).is_integer() else f"{value:g}"


def whole_numbers(value: Any) -> Any:
    """``value`` with every whole float an integer (``8``, not ``8.0``), all the way down: the
    numbers ``--json`` prints, as the table prints them."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: whole_numbers(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [whole_numbers(v) for v in value]
    return value


def number_cell(check: dict[str, Any], key: str) -> str:
    """LIMIT or USAGE: the number, ``unknown`` when nobody knows it (usage the family quota
    does not give; a check failed or not asked yet), ``-`` when the region has no such quota,
    ``unlimited`` for a limit that is none."""
    status = check.get("status")
    if status == "absent":
        return UNKNOWN if check.get("error") else NO_QUOTA  # a failed re-fetch: unknown now
    value = check.get(key)
    if status == "ok" and key == "limit" and check.get("unlimited") is True:
        return UNLIMITED
    if status != "ok" or isinstance(value, bool) or not isinstance(value, int | float):
        return UNKNOWN
    return number(value)


def reason(text: Any, width: int = REASON_WIDTH) -> str:
    """An error as a row shows it: without the ``project/region:`` the row already says, one
    line, cut at a word (``…``) rather than mid-word."""
    line = _WHERE.sub("", clean_line(text, 1000))
    return cut(line, width)


def cut(text: str, width: int) -> str:
    """``text`` in at most ``width`` characters, cut at a space when it is longer; a quoted
    command the cut would fall inside is kept whole (the fix a person copies), the rest cut."""
    if len(text) <= width:
        return text
    start, end = quoted_around(text, width - 1)
    if start < width - 1:  # inside "gcloud ... --project P": keep it, cut after it
        return text if end >= len(text) else text[:end] + "…"
    head = text[: width - 1]
    space = head.rfind(" ")
    return (head[:space] if space > width // 2 else head).rstrip(" ,;:(") + "…"


def state_text(check: dict[str, Any], fresh: bool = True) -> str:
    """STATUS: ``ok``, ``not reported``, ``pending``, ``error: <reason>``; an answer kept from
    before says ``(stale)`` when too old and ``last try failed: <reason>`` when its re-fetch
    failed."""
    status = check.get("status")
    if status == "error" or (status == "absent" and check.get("error")):  # unknown, not absent
        return f"error: {reason(check.get('error') or UNKNOWN)}"
    text = NOT_REPORTED if status == "absent" else clean_line(str(status), 40)
    if status in ("ok", "absent"):
        text += "" if fresh else " (stale)"
        if check.get("error"):
            text += f", last try failed: {reason(check['error'])}"
    return text


def eligibility_text(eligibility: Any) -> str:
    """Whether a quota may be raised, as every surface says it: ``may be raised``, ``fixed``,
    ``cannot be raised: not enough usage history``; "" when unknown."""
    if not isinstance(eligibility, str) or not eligibility:
        return ""
    if eligibility in ("eligible", "fixed"):
        return "may be raised" if eligibility == "eligible" else "fixed"
    return f"cannot be raised: {clean_line(eligibility, 60).replace('_', ' ')}"


def level_word(level: str | None, failed: int = 0, total: int = 0) -> str:
    """The warmer's level as ``show`` names a project's state: ``error`` is ``incomplete`` when
    some checks failed and ``failed`` when all did (or warming stopped)."""
    if level != "error":
        return level or "no batch yet"
    if failed and failed < total:
        return f"incomplete ({failed} in error)"
    return "failed"


# Capacity advice (Compute ``advice.capacity``): its obtainability score is "the likelihood of
# successfully obtaining the requested number of VMs", 0.0 to 1.0. Likely: more likely than
# not (docs/sources.md, "Capacity advice").
LIKELY, UNLIKELY, NOT_OFFERED = "likely", "unlikely", "not offered"
LIKELY_AT = 0.5


def likely(score: float | None) -> bool:
    """True when the obtainability score says the machines are more likely than not there."""
    return isinstance(score, int | float) and score >= LIKELY_AT


def chance(score: float | None, zones: Any = ()) -> str:
    """``likely (0.82), zones us-east4-a, us-east4-b`` / ``unlikely (0.12)``; "" without a score.
    The zones are named only where it is likely: they are where to launch."""
    if not isinstance(score, int | float) or isinstance(score, bool):
        return ""
    text = f"{LIKELY if likely(score) else UNLIKELY} ({min(max(float(score), 0.0), 1.0):.2f})"
    names = [clean_line(z, 40) for z in zones or () if isinstance(z, str) and z]
    if names and likely(score):
        text += f", zone{'s' if len(names) > 1 else ''} {', '.join(names[:4])}"
    return text


USAGE_SOURCES = {"monitoring": "Cloud Monitoring"}  # a check's usage_source, as people say it


def usage_text(check: dict[str, Any], max_age_s: float, now: float) -> str:
    """Where a usage came from and how old it is, when another source than the limit's gave
    it: ``usage 8, Cloud Monitoring, 3 min old``; a point older than ``max_age_s`` is said as
    old, never as now: ``usage 8 as of 2.0 h ago``. Empty for a usage the limit's API gave."""
    source = USAGE_SOURCES.get(str(check.get("usage_source")))
    value = check.get("usage")
    if source is None or isinstance(value, bool) or not isinstance(value, int | float):
        return ""
    from datetime import datetime

    try:
        age: float | None = now - datetime.fromisoformat(str(check.get("usage_at"))).timestamp()
    except (TypeError, ValueError, OverflowError):
        age = None
    if age is None:
        return f"usage {number(value)} from {source}, of an unknown time"
    if age > max_age_s:
        return f"usage {number(value)} as of {ago(age)}"
    said = ago(age)  # "just now", "3 min ago"
    when = f"{said.removesuffix(' ago')} old" if said.endswith(" ago") else said
    return f"usage {number(value)}, {source}, {when}"
