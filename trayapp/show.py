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

from trayapp import answers, cache, words
from trayapp.launch import report
from trayapp.sources import quota_names

TYPE_CHECKING = False  # typing costs more to import than printing the table takes
if TYPE_CHECKING:
    import argparse
    from typing import Any

DEMO_INSTEAD = (
    "quota-tray: no cache of your own yet: showing the demo's "
    "(warm your own with: quota-tray --project ID)"
)
EXIT_NO_MATCH = 1
EXIT_USAGE = 2
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
    report.add_arguments(parser)


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
    import os

    path = cache.default_file(demo=args.demo)
    try:
        snap = cache.load(path)
    except cache.CacheError as exc:
        demo = cache.default_file(demo=True)
        if args.demo or os.path.exists(path) or not os.path.exists(demo):  # noqa: PTH110
            print(f"quota-tray: {exc}", file=sys.stderr)
            return EXIT_NO_CACHE
        try:  # right after `make demo`: its answers
            path, snap = demo, cache.load(demo)
        except cache.CacheError:
            print(f"quota-tray: {exc}", file=sys.stderr)
            return EXIT_NO_CACHE
        print(DEMO_INSTEAD, file=sys.stderr)
    if args.project and args.project not in snap.projects:
        from trayapp.settings import names

        near = names.did_you_mean(args.project, snap.projects)
        print(f"quota-tray: project {args.project!r} is not in {path}{near}", file=sys.stderr)
        return EXIT_NO_CACHE
    projects = [args.project] if args.project else snap.projects
    if args.launch:
        return report.show_launch(snap, projects, args, args.max_age or snap.max_age_s, time.time())
    problems = _filter_problems(snap, projects, args)
    if any(mistake for _, mistake in problems):
        print(f"quota-tray: {next(line for line, mistake in problems if mistake)}", file=sys.stderr)
        return EXIT_USAGE
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
        body = words.whole_numbers({"written_at": snap.written_at, "projects": out})
        print(json.dumps(body, indent=2))
    else:
        shown = [p for p in projects if chosen[p]]
        for number, project in enumerate(shown):
            if number:
                print()  # a blank line between projects
            _print_project(snap, project, chosen[project], max_age, now)
    for line, _ in problems:  # a real name that is not warmed
        print(f"quota-tray: {line}", file=sys.stderr)
    if every and len(unknown) == len(every):
        reason = answers.first_error(unknown) or "never fetched yet"
        print(
            f"quota-tray: nothing known: all {len(every)} checks asked for are unknown ({reason})",
            file=sys.stderr,
        )
        return EXIT_NOTHING_KNOWN
    if not matched:
        if not problems:
            line = f"quota-tray: no check matches {_filters(args)}"
            if unknown:
                reason = answers.first_error(unknown) or "never fetched yet"
                line += f"; {len(unknown)} of {len(every)} checks are unknown ({reason})"
            print(line, file=sys.stderr)
        return EXIT_NO_MATCH
    return 0


def _filter_problems(
    snap: cache.Snapshot, projects: list[str], args: argparse.Namespace
) -> list[tuple[str, bool]]:
    """Each --metric or --region that matches nothing in the cache, and why (see names)."""
    if not args.metric and not args.region:
        return []
    checks = [c for p in projects for c in snap.checks(p)]
    metrics = [
        m for m in args.metric if not any(answers.metric_matches(c["metric"], m) for c in checks)
    ]
    regions = [r for r in args.region if r.strip().lower() not in {c["region"] for c in checks}]
    if not metrics and not regions:
        return []
    from trayapp.settings import names  # only when a filter is wrong: difflib and the lists

    return names.filter_problems(checks, metrics, regions)


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
    age = answers.data_age(checks, now)
    cycle = snap.cycle(project)
    return (
        f"{answers.clean(project)}: {state} · {age} · "
        f"cycle {cycle.get('id')} {cycle.get('done')}/{cycle.get('total')}"
    )


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
                "eligibility": c.get("eligibility"),
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


def _status(check: dict[str, Any], max_age: float, now: float) -> str:
    text = words.state_text(check, cache.is_fresh(check, max_age, now))
    pool = _pool_text(check) if answers.known(check) else ""
    text = f"{text} · fits {pool}" if pool.startswith("c3-") else text
    bound = answers.free_bound(check) if answers.known(check) else None
    raise_ = words.eligibility_text(check.get("eligibility"))
    nothing_free = check.get("status") == "absent" or (bound is not None and bound[0] < 1)
    return f"{text} · {raise_}" if raise_ and nothing_free else text


def _print_project(
    snap: cache.Snapshot, project: str, rows: list[dict[str, Any]], max_age: float, now: float
) -> None:
    line = header(snap, project, max_age, now)
    default = ("compute", "on-demand")
    if any((quota_names.service_of(c), quota_names.tier_of(c)) != default for c in rows):
        line += f" — {quota_names.quotas_line(rows)}"  # not the default: name which quota was read
    print(line)
    table = [words.COLUMNS]
    for c in rows:
        table.append(
            (
                answers.clean(c["region"], 40),
                answers.clean(words.short_name(str(c["metric"])), 40),
                words.number_cell(c, "limit"),
                words.number_cell(c, "usage"),
                answers.format_free(c),
                words.ago(answers.age_s(c, now)),
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
