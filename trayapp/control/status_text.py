"""`quota-tray status` in words: a few readable lines of a running instance's answer (what the
instance sent: every field may be missing or hostile, so each is cleaned where it is shown)."""

from __future__ import annotations

import time
from collections.abc import Mapping

from trayapp.safety.text import clean_line

TYPE_CHECKING = False  # `status` starts faster without typing
if TYPE_CHECKING:
    from typing import Any


def format_status(status: Mapping[str, Any]) -> str:
    """A few readable lines of a status answer."""
    from trayapp import words  # only when an instance answered: `status` starts faster

    name = "the quota-tray demo" if status.get("demo") is True else "quota-tray"
    lines = [f"{name} is running (pid {status.get('pid')}, up {_duration(status)})"]
    failed, total = status.get("failed") or 0, status.get("total") or 0
    level = words.level_word(status.get("level"), _int(failed), _int(total))
    unwritten = status.get("unwritten")
    if unwritten and not failed and status.get("level") == "error":
        level = "not written"
    ms = status.get("last_batch_ms")
    lines.append(f"level: {level}" + (f", last batch {ms} ms" if ms is not None else ""))
    progress = status.get("progress") or {}
    per_project = ", ".join(
        f"{name} {p.get('done')}/{p.get('total')}" + (" complete" if p.get("complete") else "")
        for name, p in progress.items()
        if isinstance(p, Mapping)
    )
    lines.append(
        f"progress: {status.get('done')}/{status.get('total')} checks"
        + (f" ({per_project})" if per_project else "")
    )
    quota = status.get("quota")
    if isinstance(quota, Mapping) and quota:
        lines.append(
            "quota: " + "; ".join(f"{str(k).upper()} {clean_line(v)}" for k, v in quota.items())
        )
    failed = status.get("failed") or 0
    if failed:
        reasons = [str(r) for r in status.get("reasons") or ()]
        retry = status.get("retry_in_s")
        then = f"retry in {words.duration(retry)}" if isinstance(retry, int | float) else "no retry"
        lines.append(f"failed: {failed} checks ({then})")
        lines.extend(f"  {clean_line(reason)}" for reason in reasons)
    if unwritten:  # the answers did not reach the cache file: where and why
        lines.append(f"not written: {clean_line(unwritten)}; tried again at every tick")
    missing = status.get("not_found") or ()
    if missing:
        lines.append("not found (not asked again until a re-warm): " + ", ".join(map(str, missing)))
    lines.extend(f"keeps failing: {clean_line(t)}" for t in status.get("troubles") or ())
    lines.append("warming: paused" if status.get("paused") else "warming: active")
    if status.get("cache_path"):
        lines.append(f"cache: {status['cache_path']}")
    lines.extend(_requests_lines(status.get("requests")))
    for failing in status.get("enrichments") or ():  # usage, capacity advice, requests
        if isinstance(failing, Mapping):
            lines.append(f"not read: {clean_line(str(failing.get('error')), 200)}")
    for rule in status.get("watch_met") or ():
        if isinstance(rule, Mapping):
            lines.append(f"watch met: {_watch_line(rule)}")
    return "\n".join(lines)


def _requests_lines(requests: Any) -> list[str]:
    """``request: H100 in us-central1: granted 16 of 16 · 3 min ago``, one per request."""
    from trayapp.sources import preference_states

    if not isinstance(requests, Mapping):
        return []
    now = time.time()
    return [
        f"request: {preference_states.summary(entry, now)}"
        for entries in requests.values()
        if isinstance(entries, list)
        for entry in entries
        if isinstance(entry, dict)
    ]


def _watch_line(rule: Mapping[str, Any]) -> str:
    """``≥ 8 NVIDIA_H100_GPUS: us-west1 (8), europe-west4 (≤ 16)``."""
    from trayapp import words

    if rule.get("launch"):  # ``launch t4box: us-central1 (fits), us-east1 (fits ≤)``
        met = [w for w in rule.get("met_in") or () if isinstance(w, Mapping)]
        fits = ", ".join(f"{w.get('region')} ({w.get('verdict')})" for w in met)
        return clean_line(f"launch {rule['launch']}: {fits}")
    places = ", ".join(
        f"{w.get('region')} ({'' if w.get('exact') else '≤ '}{w.get('free'):g})"
        for w in rule.get("met_in") or ()
        if isinstance(w, Mapping) and isinstance(w.get("free"), int | float)
    )
    return f"≥ {rule.get('min_free'):g} {words.short_name(str(rule.get('metric')))}: {places}"


def _int(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _duration(status: Mapping[str, Any]) -> str:
    try:
        seconds = int(float(status.get("uptime_s") or 0))
    except (TypeError, ValueError):
        return "?"
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
