"""``quota-tray request``: ask Google for more of one quota the warmer reads.

Today's limit and whether the quota may be raised come from the cache (no call to read them);
a request that cannot succeed is refused in one line, before anything is sent (exit 2). What
will be asked is said in one line and confirmed (``--yes`` for scripts; with no terminal and
no ``--yes`` nothing is sent). Nothing is logged: the email and justification go to Google
only, and the email is shown masked.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from trayapp import answers, cache, words
from trayapp.sources import quota_names

EXIT_FAILED = 1  # Google refused or could not be reached
EXIT_REFUSED = 2  # refused here, nothing sent


class Refused(Exception):
    """A request refused before anything is sent: one line, exit 2."""


def add_arguments(p: argparse.ArgumentParser, number: Any) -> None:
    """The options of ``request``; the project, service and tier as for ``run``."""
    p.add_argument("--metric", required=True, metavar="M", help="the GPU (H100) or C3")
    p.add_argument("--region", required=True, metavar="R", help="the region")
    p.add_argument("--value", required=True, type=_whole, metavar="N", help="the limit wanted")
    p.add_argument("--email", metavar="ADDRESS", help="who Google contacts (required)")
    p.add_argument("--justification", default="", metavar="TEXT", help="why, for Google")
    p.add_argument("--dry-run", action="store_true", help="Google validates it; nothing filed")
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    p.add_argument("--project", action="append", metavar="ID", help="the project")
    p.add_argument("--endpoint", metavar="URL", help="Compute API base URL")
    p.add_argument("--quotas-endpoint", metavar="URL", help="Cloud Quotas API base URL")
    p.add_argument("--config", type=Path, metavar="PATH", help="config file")
    p.add_argument("--gpu-service", choices=("compute", "vertex"), help="VMs or Vertex AI")
    p.add_argument("--spot", action="store_true", default=None, help="the Spot GPU quota")
    p.add_argument("--c3-service", choices=("compute", "cloudbuild"), help="VMs or Cloud Build")
    p.set_defaults(interval=None, rewarm=None, timeout=None, launch=None)


def _whole(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more: {text!r}")
    return value


def request(args: argparse.Namespace) -> int:
    """Refuse, confirm, then file (or validate) the one QuotaPreference."""
    try:
        return _request(args)
    except Refused as exc:
        print(f"quota-tray: {exc}", file=sys.stderr)
        return EXIT_REFUSED


def _request(args: argparse.Namespace) -> int:
    from trayapp.app import resolve_projects
    from trayapp.settings.flags import settings_from
    from trayapp.sources.preferences import Ask, mask_email

    settings = settings_from(args)
    projects = resolve_projects(settings, detect=False)
    if not projects:
        raise Refused("no project: pass --project ID or set projects in config.toml")
    project = projects[0]
    email = (args.email or "").strip()
    if "@" not in email:
        raise Refused("no --email: Google needs an address to contact about a quota increase")
    check = _check(project, args, settings)
    short = words.short_name(str(check["metric"]))
    quota_id = check.get("quota_id")
    if check.get("source") != "cloudquotas" or not quota_id:
        raise Refused(
            f"{short} in {args.region} is read through regions.get, whose Cloud Quotas ID is "
            f"not known here: ask in the console: {quota_names.request_url(project, check)}"
        )
    said = words.eligibility_text(check.get("eligibility"))
    if check.get("eligibility") not in (None, "eligible"):
        raise Refused(f"{short} ({quota_id}) in {args.region} {said}: nothing asked")
    limit = _limit(check, short, args.region)
    if args.value <= limit:
        raise Refused(
            f"{args.value} is not above today's limit of {words.number(limit)} for {short} in "
            f"{args.region}: nothing asked"
        )
    service = quota_names.API_NAMES[quota_names.service_of(check)]
    ask = Ask(service, quota_id, _dimensions(check), args.value, email, args.justification)
    verb = "Validate (nothing filed)" if args.dry_run else "Ask Google"
    print(
        f"{verb}: project {project}, {quota_names.short_label(check, short)} ({quota_id}) in "
        f"{args.region}: from {words.number(limit)} to {args.value}; contact {mask_email(email)}"
    )
    if not args.dry_run and not args.yes:
        _confirm()
    return _send(project, ask, settings, dry_run=args.dry_run)


def _check(project: str, args: argparse.Namespace, settings: Any) -> dict[str, Any]:
    """The cache's check for the metric, region, service and tier asked for."""
    try:
        snap = cache.load(cache.default_file())
    except cache.CacheError as exc:
        raise Refused(f"project {project} is not warmed ({exc}): run quota-tray first") from None
    if project not in snap.projects:
        raise Refused(f"project {project} is not warmed: run quota-tray --project {project}")
    c3 = answers.metric_matches("C3_CPUS", args.metric)
    service = settings.c3_service if c3 else settings.gpu_service
    tier = "spot" if settings.spot and not c3 else "on-demand"
    for check in snap.checks(project):
        if (
            answers.metric_matches(str(check["metric"]), args.metric)
            and check.get("region") == args.region.strip().lower()
            and quota_names.service_of(check) == service
            and quota_names.tier_of(check) == tier
        ):
            return check
    quota = quota_names.quota_name(service, tier)
    raise Refused(
        f"{args.metric} in {args.region} ({quota}) is not warmed for project {project}: "
        "add it to the config and run quota-tray"
    )


def _limit(check: dict[str, Any], short: str, region: str) -> float:
    if check.get("status") == "ok" and check.get("unlimited") is True:
        raise Refused(f"{short} in {region} has no limit: nothing to ask for")
    if check.get("status") != "ok" or not isinstance(check.get("limit"), int | float):
        state = words.state_text(check)
        raise Refused(f"today's limit of {short} in {region} is not known ({state})")
    return float(check["limit"])


def _dimensions(check: dict[str, Any]) -> dict[str, str]:
    """The dimensions of the entry the check reads: its region, and the GPU family or the
    build origin where the quota has one."""
    from trayapp.sources import cloudbuild, compute_family

    dimensions = {"region": str(check["region"])}
    service = quota_names.service_of(check)
    if service == "cloudbuild":
        dimensions.update(cloudbuild.WANTED)
    elif service == "compute":
        family = compute_family.family_of(str(check["metric"]))
        if family:
            dimensions["gpu_family"] = family
    return dimensions


def _confirm() -> None:
    if not sys.stdin.isatty():
        raise Refused("not asked: no terminal to confirm on (pass --yes to ask without)")
    if input("Send this request to Google? [y/N] ").strip().lower() not in ("y", "yes"):
        raise Refused("not asked")


def _send(project: str, ask: Any, settings: Any, *, dry_run: bool) -> int:
    from trayapp.sources.base import SourceError
    from trayapp.sources.preferences import PreferenceSource

    source = PreferenceSource(
        settings.cloudquotas_endpoint,
        settings.timeout_s,
        quota_project=settings.quota_project,
    )
    try:
        filed = source.file(project, ask, validate_only=dry_run)
    except SourceError as exc:
        print(f"quota-tray: not asked: {exc}", file=sys.stderr)
        return EXIT_FAILED
    finally:
        source.close()
    if dry_run:
        print(f"Google accepts it; nothing filed (it would be {filed.name})")
        return 0
    state = "under review" if filed.reconciling else "settled"
    granted = "" if filed.granted is None else f", granted {filed.granted} so far"
    print(f"Filed {filed.name}: {state}{granted}; trace ID {filed.trace_id}")
    return 0
