"""``quota-tray show``: the answer from the cache file, with FREE and filters; no network. May
import ``cache``, ``answers``, ``words``, ``launch`` and ``sources.quota_names``; ``settings.names``
on its error path. ``rows``: a project's table and JSON.

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
from trayapp.show.rows import print_project, project_json

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
        out = {p: project_json(snap, p, chosen[p], max_age, now) for p in projects}
        body = words.whole_numbers({"written_at": snap.written_at, "projects": out})
        print(json.dumps(body, indent=2))
    else:
        shown = [p for p in projects if chosen[p]]
        for number, project in enumerate(shown):
            if number:
                print()  # a blank line between projects
            print_project(snap, project, chosen[project], max_age, now)
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
