"""``quota-tray requests``: the quota increase requests the warmer follows, from the cache
(no network): per project, each request's quota, region, state and age; ``--json`` for
scripts. Exit 3 when there is no usable cache or the project is not in it."""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from trayapp import cache
from trayapp.sources import preference_states as follow

EXIT_NO_CACHE = 3


def add_arguments(p: argparse.ArgumentParser, number: Any) -> None:
    """The options of ``requests``."""
    p.add_argument("--project", metavar="ID", help="only this project")
    p.add_argument("--json", action="store_true", help="machine-readable answer")
    p.add_argument("--demo", action="store_true", help="the demo's cache")


def requests_command(args: argparse.Namespace) -> int:
    """Print the cache's ``requests`` of each project (or of ``--project``)."""
    path = cache.default_file(demo=args.demo)
    try:
        snap = cache.load(path)
    except cache.CacheError as exc:
        print(f"quota-tray: {exc}", file=sys.stderr)
        return EXIT_NO_CACHE
    if args.project and args.project not in snap.projects:
        print(f"quota-tray: project {args.project!r} is not in {path}", file=sys.stderr)
        return EXIT_NO_CACHE
    projects = [args.project] if args.project else list(snap.projects)
    now = time.time()
    found = {p: [e for e in snap.section(p, "requests") if isinstance(e, dict)] for p in projects}
    if args.json:
        listed = [
            {"project": p, **e, "age_s": follow.age(e, now)} for p in projects for e in found[p]
        ]
        print(json.dumps(listed, indent=2, ensure_ascii=False))
        return 0
    for project in projects:
        if len(projects) > 1:
            print(f"{project}:")
        if not found[project]:
            print(f"  no quota increase requests for the quotas quota-tray reads in {project}")
        for e in found[project]:
            print(f"  {follow.summary(e, now)}")
            if e.get("state") in ("partly granted", "denied", "needs support") and follow.reason(e):
                print(f"    {follow.reason(e)}")
    return 0
