"""Type checks of a cache document, so a reader gets one CacheError and never a crash later.

Standard library only, like ``trayapp.cache``. Every field a reader formats or compares is
checked for its type here (a ``limit`` of ``"8"`` once made ``show`` fail with "Unknown format
code"), and text that came from outside (errors, reasons) is made inert once, on the way in.
"""

from __future__ import annotations

import math
from datetime import datetime

from trayapp.safety.text import clean_line

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

STATUSES = ("pending", "ok", "absent", "error")  # the one definition (cache.py re-exports it)
CHECK_KEYS = ("kind", "region", "metric", "status", "limit", "usage", "fetched_at", "error")
_CHECK_KEY_SET = frozenset(CHECK_KEYS)
MAX_NAME = 200  # a region or metric name


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:  # an integer too large for a float
        return False


def _is_time(value: Any) -> bool:
    if type(value) is not str or len(value) > 64:
        return False
    try:
        return datetime.fromisoformat(value).tzinfo is not None
    except ValueError:
        return False


def _optional(value: Any, test: Any) -> bool:
    return value is None or test(value)


def problem(doc: dict[str, Any]) -> str | None:
    """What is wrong with ``doc`` in a few words, or None; cleans its outside text meanwhile."""
    if not _is_time(doc.get("written_at")):
        return "written_at is missing or not a time"
    warmer = doc.get("warmer")
    if not isinstance(warmer, dict):
        return "warmer is missing"
    wrong = _warmer_problem(warmer)
    if wrong:
        return f"warmer: {wrong}"
    projects = doc.get("projects")
    if not isinstance(projects, dict):
        return "projects is not an object"
    for name, body in projects.items():
        label = clean_line(name, 60)
        if not isinstance(body, dict) or not isinstance(body.get("cycle"), dict):
            return f"project {label!r} has no cycle"
        wrong = _cycle_problem(body["cycle"])
        if wrong:
            return f"project {label!r}: cycle {wrong}"
        checks = body.get("checks")
        if not isinstance(checks, list):
            return f"project {label!r} has no checks"
        more = body.get("launch_quotas", [])
        if not isinstance(more, list):
            return f"project {label!r} has launch_quotas that are not a list"
        wrong = _launches_problem(body.get("launches", [])) or _extras_problem(body)
        if wrong:
            return f"project {label!r} {wrong}"
        for check in (*checks, *more):
            wrong = _check_problem(check)
            if wrong:
                return f"a check of {label!r} {wrong}"
    return None


def _launches_problem(launches: Any) -> str | None:
    """What is wrong with a project's ``launches`` (additive), or None."""
    if not isinstance(launches, list) or not all(isinstance(x, dict) for x in launches):
        return "has launches that are not a list of objects"
    for launch in launches:
        if not all(isinstance(launch.get(k), str) for k in ("name", "shape", "service", "tier")):
            return "has a launch whose name, shape, service or tier is not a string"
        if not _is_int(launch.get("count")):
            return "has a launch whose count is not an integer"
    return None


# what the enrichments keep (additive): each field's type; "?" allows null. Text is cleaned.
_EXTRAS: dict[str, dict[str, str]] = {
    "extras": {"key": "str", "status": "str", "fetched_at": "time?", "error": "str?"},
    "capacity": {
        "launch": "str", "region": "str", "machine_type": "str", "count": "int", "spot": "bool",
        "score": "num?", "uptime_s": "num?", "zones": "strs", "fetched_at": "time?",
        "status": "str", "error": "str?",
    },
    "requests": {
        "name": "str", "id": "str", "service": "str", "quota_id": "str", "dimensions": "map",
        "region": "str?", "metric": "str?", "tier": "str?", "preferred": "int", "granted": "int?",
        "reconciling": "bool", "state": "str", "state_detail": "str?", "trace_id": "str?",
        "created_at": "time?", "updated_at": "time?",
    },
}  # fmt: skip
_TESTS = {
    "str": lambda v: isinstance(v, str),
    "time": _is_time,
    "int": _is_int,
    "num": _is_number,
    "bool": lambda v: isinstance(v, bool),
    "strs": lambda v: isinstance(v, list) and all(isinstance(x, str) for x in v),
    "map": lambda v: isinstance(v, dict) and all(isinstance(x, str) for x in v.values()),
}


def _extras_problem(body: dict[str, Any]) -> str | None:
    """What is wrong with a project's enrichment lists, or None; their text made inert."""
    for name, fields in _EXTRAS.items():
        entries = body.get(name, [])
        if not isinstance(entries, list) or not all(isinstance(x, dict) for x in entries):
            return f"has {name} that are not a list of objects"
        for entry in entries:
            for key, kind in fields.items():
                value = entry.get(key)
                if value is None and kind.endswith("?"):
                    continue
                if not _TESTS[kind.rstrip("?")](value):
                    return f"has {name} whose {key} is not a {kind.rstrip('?')}"
                if isinstance(value, str):
                    entry[key] = clean_line(value, 300)
                elif kind in {"strs", "map"}:
                    _clean_all(value)
    return None


def _clean_all(value: list[str] | dict[str, str]) -> None:
    keys = range(len(value)) if isinstance(value, list) else list(value)
    for k in keys:
        value[k] = clean_line(value[k], MAX_NAME)  # type: ignore[index]


def _warmer_problem(warmer: dict[str, Any]) -> str | None:
    if not _optional(warmer.get("pid"), _is_int):
        return "pid is not an integer"
    if not _optional(warmer.get("level"), lambda v: isinstance(v, str)):
        return "level is not a string"
    if not _optional(warmer.get("last_batch_ms"), _is_number):
        return "last_batch_ms is not a number"
    if not _optional(warmer.get("paused"), lambda v: isinstance(v, bool)):
        return "paused is not true or false"
    return None


def _cycle_problem(cycle: dict[str, Any]) -> str | None:
    if not _is_int(cycle.get("id")):
        return "has no integer id"
    for key in ("done", "total", "failed"):
        if not _optional(cycle.get(key), _is_int):
            return f"{key} is not an integer"
    for key in ("started_at", "completed_at"):
        if not _optional(cycle.get(key), _is_time):
            return f"{key} is not a time"
    return None


def _check_problem(check: Any) -> str | None:
    """Written for speed: a reader validates every check of every load."""
    if type(check) is not dict or not check.keys() >= _CHECK_KEY_SET:
        return "lacks fields"
    status = check["status"]
    if type(status) is not str or status not in STATUSES:
        return f"has status {clean_line(status, 40)!r}"
    for key in ("kind", "region", "metric"):
        value = check[key]
        if value is None and key == "region" and check["kind"] == "global":
            continue  # a project-wide quota has no region
        if type(value) is not str:
            return f"has a {key} that is not a string"
        if not value.isprintable() or len(value) > MAX_NAME:
            check[key] = clean_line(value, MAX_NAME)
    for key in ("limit", "usage"):
        value = check[key]
        if value is not None and not _is_number(value):
            return f"has a {key} that is not a number"
    fetched = check["fetched_at"]
    if fetched is not None and not _is_time(fetched):
        return "has a fetched_at that is not a time"
    error = check["error"]
    if error is not None:
        if type(error) is not str:
            return "has an error that is not a string"
        check["error"] = clean_line(error)  # outside text: inert before any surface shows it
    source = check.get("source")
    if source is not None and type(source) is not str:
        return "has a source that is not a string"
    if "usage_at" in check and not _optional(check["usage_at"], _is_time):
        return "has a usage_at that is not a time"
    return None
