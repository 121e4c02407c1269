"""``quota-tray show``: the answer from the cache file, with FREE and filters; no network.

Exit codes: 0 rows printed, 1 a filter matched nothing, 3 no usable cache, or nothing known
(every check asked for failed or was never fetched: no answer, which is not "no match").
Imports only what printing the cache needs (the cache reader, the shared answers,
platformdirs), so it starts about as fast as the interpreter does.
"""

from __future__ import annotations

import json
import sys
import time
from typing import TYPE_CHECKING, Any

from trayapp import answers, cache
from trayapp.sources import quota_names

if TYPE_CHECKING:
    import argparse

EXIT_NO_MATCH = 1
EXIT_NO_CACHE = 3
EXIT_NOTHING_KNOWN = 3


def add_arguments(parser: argparse.ArgumentParser, number: Any) -> None:
    """The options of ``show``; ``number`` parses a positive number."""
    parser.add_argument("--project", metavar="ID", help="only this project")
    parser.add_argument(
        "--metric",
        action="append",
        default=[],
        metavar="M",
        help="only this metric: NVIDIA_H100_GPUS or the short H100, any case (repeatable)",
    )
    parser.add_argument(
        "--region", action="append", default=[], metavar="R", help="only this region (repeatable)"
    )
    parser.add_argument(
        "--min-free",
        type=_at_least_zero,
        metavar="N",
        help="only rows with at least N free (or a limit of N where usage is unknown), "
        "most free first",
    )
    parser.add_argument(
        "--json",
        action="store_true",
        help="machine-readable: every check with its free (null when unknown) and "
        "free_at_most (the limit where usage is unknown)",
    )
    parser.add_argument(
        "--max-age",
        type=number,
        metavar="S",
        help="seconds a value stays fresh (default: what the warmer wrote, else "
        f"{cache.DEFAULT_MAX_AGE_S:g})",
    )
    parser.add_argument("--demo", action="store_true", help="the demo's cache")


def _at_least_zero(text: str) -> float:
    import argparse

    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0 <= value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be zero or more: {text!r}")
    return value


def show(args: argparse.Namespace) -> int:
    from trayapp.cache import default_path

    path = default_path(demo=args.demo)
    try:
        snap = cache.load(path)
    except cache.CacheError as exc:
        print(f"quota-tray: {exc}", file=sys.stderr)
        return EXIT_NO_CACHE
    if args.project and args.project not in snap.projects:
        print(f"quota-tray: project {args.project!r} is not in {path}", file=sys.stderr)
        return EXIT_NO_CACHE
    projects = [args.project] if args.project else snap.projects
    now = time.time()
    max_age = args.max_age or snap.max_age_s
    asked = {
        p: answers.select(snap.checks(p), metrics=args.metric, regions=args.region)
        for p in projects
    }
    chosen = {
        p: answers.select(rows, min_free=args.min_free) if args.min_free is not None else rows
        for p, rows in asked.items()
    }
    matched = any(chosen.values())
    every = [c for rows in asked.values() for c in rows]
    unknown = [c for c in every if not answers.known(c)]
    if args.json:
        out = {p: _project_json(snap, p, chosen[p], max_age, now) for p in projects}
        print(json.dumps({"written_at": snap.written_at, "projects": out}, indent=2))
    else:
        shown = [p for p in projects if chosen[p]]
        for number, project in enumerate(shown):
            if number:
                print()  # a blank line between projects
            _print_project(snap, project, chosen[project], max_age, now)
    if every and len(unknown) == len(every):
        reason = answers.first_error(unknown) or "never fetched yet"
        print(
            f"quota-tray: nothing known: all {len(every)} checks asked for are unknown ({reason})",
            file=sys.stderr,
        )
        return EXIT_NOTHING_KNOWN
    if not matched:
        line = f"quota-tray: no check matches {_filters(args)}"
        if unknown:
            reason = answers.first_error(unknown) or "never fetched yet"
            line += f"; {len(unknown)} of {len(every)} checks are unknown ({reason})"
        print(line, file=sys.stderr)
        return EXIT_NO_MATCH
    return 0


def _filters(args: argparse.Namespace) -> str:
    words = [f"--metric {m}" for m in args.metric] + [f"--region {r}" for r in args.region]
    if args.min_free is not None:
        words.append(f"--min-free {args.min_free:g}")
    return " ".join(words) or "(the cache lists no checks)"


def header(snap: cache.Snapshot, project: str, max_age: float, now: float) -> str:
    """``my-project: complete · updated 4 min ago · cycle 3 38/38``."""
    checks = snap.checks(project)
    state = answers.project_state(checks, max_age, now)
    counts = []
    errors = sum(answers.in_error(c) for c in checks)
    pending = sum(c["status"] == "pending" for c in checks)
    if errors:
        counts.append(f"{errors} in error")
    if pending:
        counts.append(f"{pending} pending")
    if state != "complete" and counts:
        state += f" ({', '.join(counts)})"
    updated = answers.updated_at(checks)
    age = "never updated" if updated is None else f"updated {answers.ago(now - updated)}"
    cycle = snap.cycle(project)
    return (
        f"{answers.clean(project)}: {state} · {age} · "
        f"cycle {cycle.get('id')} {cycle.get('done')}/{cycle.get('total')}"
    )


def quotas_line(rows: list[dict[str, Any]]) -> str:
    """``GPU: Vertex AI training · Spot; C3: Cloud Build private pools``: which quota the
    rows read, per kind of check."""
    kinds: dict[str, list[str]] = {}
    for row in rows:
        names = kinds.setdefault(str(row.get("kind")).upper(), [])
        name = quota_names.check_quota(row)
        if name not in names:
            names.append(name)
    return "; ".join(f"{kind}: {', '.join(names)}" for kind, names in kinds.items())


def _project_json(
    snap: cache.Snapshot, project: str, rows: list[dict[str, Any]], max_age: float, now: float
) -> dict[str, Any]:
    checks = snap.checks(project)
    updated = answers.updated_at(checks)
    return {
        "state": answers.project_state(checks, max_age, now),
        "updated_at": _iso(updated),
        "age_s": None if updated is None else round(now - updated, 1),
        "warm": snap.is_warm(project, max_age, now),
        "complete": snap.is_complete(project, max_age, now),
        "cycle": snap.cycle(project),
        "checks": [
            {
                **c,
                "service": quota_names.service_of(c),
                "tier": quota_names.tier_of(c),
                "quota": quota_names.check_quota(c),
                "fresh": cache.is_fresh(c, max_age, now),
                "known": answers.known(c),
                "free": answers.free(c),
                "free_at_most": _at_most(c),
                "unlimited": c.get("unlimited") is True,
                **_pool(c),
                "request_url": quota_names.request_url(project, c),
            }
            for c in rows
        ],
    }


def _at_most(check: dict[str, Any]) -> float | None:
    """What FREE prints as a number: the free count, or the limit where usage is unknown
    (printed ``≤ 8``, where ``free`` is null); null when nothing is known or unlimited."""
    bound = answers.free_bound(check)
    return None if bound is None or bound[0] == float("inf") else bound[0]


def _pool(check: dict[str, Any]) -> dict[str, Any]:
    """For Cloud Build C3: ``largest_pool``, the c3-standard machine the quota holds."""
    if quota_names.service_of(check) != "cloudbuild" or check.get("kind") != "c3":
        return {}
    return {"largest_pool": _pool_text(check) or None}


def _pool_text(check: dict[str, Any]) -> str:
    bound = answers.free_bound(check)
    return quota_names.pool_text(check, None if bound is None else bound[0])


def _iso(epoch: float | None) -> str | None:
    if epoch is None:
        return None
    from datetime import UTC, datetime

    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds")


def _age(check: dict[str, Any], now: float) -> str:
    seconds = answers.age_s(check, now)
    if seconds is None:
        return "-"
    seconds = max(0, int(seconds))
    if seconds < 120:
        return f"{seconds}s"
    return f"{seconds // 60}m" if seconds < 7200 else f"{seconds // 3600}h"


def _num(check: dict[str, Any], key: str) -> str:
    value = check.get(key)
    if key == "limit" and check.get("status") == "ok" and check.get("unlimited") is True:
        return answers.UNLIMITED
    if check.get("status") != "ok" or not isinstance(value, int | float):
        return "?" if check.get("status") == "ok" else "-"
    return f"{value:.0f}" if float(value).is_integer() else f"{value:g}"


def _status(check: dict[str, Any], max_age: float, now: float) -> str:
    text = answers.status_text(check)
    if check["status"] in ("ok", "absent"):
        if not cache.is_fresh(check, max_age, now):
            text += " (stale)"
        if check.get("error"):
            text += f", last try failed: {answers.clean(check['error'])}"
    pool = _pool_text(check) if answers.known(check) else ""
    return f"{text} · fits {pool}" if pool.startswith("c3-") else text


def _print_project(
    snap: cache.Snapshot, project: str, rows: list[dict[str, Any]], max_age: float, now: float
) -> None:
    line = header(snap, project, max_age, now)
    default = ("compute", "on-demand")
    if any((quota_names.service_of(c), quota_names.tier_of(c)) != default for c in rows):
        line += f" — {quotas_line(rows)}"  # not the default: name which quota was read
    print(line)
    table = [("REGION", "METRIC", "LIMIT", "USAGE", "FREE", "AGE", "STATUS")]
    for c in rows:
        table.append(
            (
                answers.clean(c["region"], 40),
                answers.clean(answers.short_name(str(c["metric"])), 40),
                _num(c, "limit"),
                _num(c, "usage"),
                answers.format_free(c),
                _age(c, now),
                _status(c, max_age, now),
            )
        )
    widths = [max(len(r[i]) for r in table) for i in range(len(table[0]))]
    right = {2, 3, 4}  # numbers line up on the right
    for row in table:
        cells = [
            cell.rjust(w) if i in right else cell.ljust(w)
            for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        ]
        print("  ".join(cells).rstrip())
