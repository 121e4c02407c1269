"""One rule per kind of name, and one wording for every mistake.

Every place that takes a name (config.toml, ``--project``, ``show --metric/--region``, the
terminal view's filter, ``[[watch]]``) asks here, so a typo gets the same one line everywhere:
``unknown region 'us-eastt1'; did you mean us-east1?``, or, for a real name that is not warmed,
``B200 is not warmed: add it to [gpu] metrics``.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping

from trayapp.sources.quota_project import PROJECT_ID

# Google Cloud regions (cloud.google.com/compute/docs/regions-zones, 2026). A well-formed name
# that is not here and close to none of these is taken as a region newer than this list.
KNOWN_REGIONS = (
    "africa-south1",
    "asia-east1",
    "asia-east2",
    "asia-northeast1",
    "asia-northeast2",
    "asia-northeast3",
    "asia-south1",
    "asia-south2",
    "asia-southeast1",
    "asia-southeast2",
    "asia-southeast3",
    "australia-southeast1",
    "australia-southeast2",
    "europe-central2",
    "europe-north1",
    "europe-north2",
    "europe-southwest1",
    "europe-west1",
    "europe-west2",
    "europe-west3",
    "europe-west4",
    "europe-west6",
    "europe-west8",
    "europe-west9",
    "europe-west10",
    "europe-west12",
    "me-central1",
    "me-central2",
    "me-west1",
    "northamerica-northeast1",
    "northamerica-northeast2",
    "northamerica-south1",
    "southamerica-east1",
    "southamerica-west1",
    "us-central1",
    "us-east1",
    "us-east4",
    "us-east5",
    "us-south1",
    "us-west1",
    "us-west2",
    "us-west3",
    "us-west4",
)
_REGION = re.compile(r"[a-z]+(?:-[a-z]+)+[0-9]{1,2}")
_PROJECT = PROJECT_ID  # Google's rule for a project ID
_GPU_MODEL = re.compile(r"[A-Z]{1,4}[0-9]{1,4}[A-Z]?(?:_[A-Z0-9]+)*")


class BadName(ValueError):  # the command line prints a ValueError as one line, exit 2
    """A name that is not valid; the message is the one line to print."""


def did_you_mean(name: str, candidates: Iterable[str], cutoff: float = 0.6) -> str:
    """``; did you mean X?`` for the closest candidate, or nothing when none is close."""
    found = difflib.get_close_matches(name, list(candidates), n=1, cutoff=cutoff)
    return f"; did you mean {found[0]}?" if found else ""


def unknown(what: str, name: str, candidates: Iterable[str], cutoff: float = 0.6) -> str:
    """The one wording for a name that is not valid."""
    return f"unknown {what} {name!r}{did_you_mean(name, candidates, cutoff)}"


def unknown_option(
    extra: list[str], mine: Iterable[str], others: Mapping[str, Iterable[str]]
) -> str:
    """``unknown option '--intervall'; did you mean --interval?``, or the other command that
    has it (``unknown option '--plot' (an option of quota-tray stats)``)."""
    option = next((a.partition("=")[0] for a in extra if a.startswith("-")), None)
    if option is None:
        return f"unrecognized arguments: {' '.join(extra)}"
    command = next((n for n, options in others.items() if option in options), None)
    if command and option.startswith("--"):
        return f"unknown option {option!r} (an option of quota-tray {command})"
    return unknown("option", option, [o for o in mine if o.startswith("--")])


def key(name: str, known: Iterable[str], where: str = "") -> str:
    """A config key, or BadName naming the closest known key."""
    known = tuple(known)
    if name in known:
        return name
    raise BadName(unknown(f"key{' in ' + where if where else ''}", name, known))


def project(name: str) -> str:
    """A Google Cloud project ID, or BadName with the ID the name most likely meant."""
    if _PROJECT.fullmatch(name):
        return name
    guess = re.sub(r"[^a-z0-9.:-]+", "-", name.strip().lower()).strip("-")
    hint = f"; did you mean {guess}?" if guess != name and _PROJECT.fullmatch(guess) else ""
    return _raise(
        f"{name!r} is not a project ID (lower-case letters, digits and hyphens, "
        f"starting with a letter, at most 30){hint}"
    )


def region(name: str, warmed: Iterable[str] = ()) -> str:
    """A region name in lower case, or BadName naming the closest known region."""
    lower = name.strip().lower()
    if lower in KNOWN_REGIONS or lower in tuple(warmed):
        return lower
    near = did_you_mean(lower, (*KNOWN_REGIONS, *warmed), cutoff=0.75)
    if near or not _REGION.fullmatch(lower):
        return _raise(f"unknown region {name!r}{near}")
    return lower  # well formed, close to no known region: a region newer than our list


def metric_key(name: str) -> str:
    """What people type, the way metric names are compared: ``h100`` -> ``H100``."""
    return name.strip().upper().replace(" ", "_").replace("-", "_")


def gpu_metric(name: str) -> str:
    """A GPU quota metric's full name (``H100``, ``nvidia_h100_gpus`` -> NVIDIA_H100_GPUS),
    or BadName naming the closest known metric."""
    from trayapp.sources import compute_metrics

    upper = metric_key(name)
    for full in (upper, f"NVIDIA_{upper}_GPUS"):
        if full.endswith("_GPUS") and compute_metrics.is_known(full):
            if full != upper and (upper.endswith("S") or not _GPU_MODEL.fullmatch(upper)):
                break  # NVIDIA_BANANA_GPUS is well formed, BANANA is no GPU model
            return full
    if compute_metrics.is_known(upper):  # CPUS, C3_CPUS: a quota, but not a GPU's
        return _raise(f"{name!r} is not a GPU quota metric: name GPUs as NVIDIA_<X>_GPUS or H100")
    guess = compute_metrics.closest(name)
    if guess and guess not in compute_metrics.known_metrics():
        from trayapp.answers import short_name

        guess = guess if _GPU_MODEL.fullmatch(short_name(guess)) else None  # not NVIDIA_BANANA
    hint = f"; did you mean {guess}?" if guess else ""
    return _raise(f"unknown GPU quota metric {name!r}{hint}")


def cpu_metric(name: str) -> str:
    """A Compute CPU quota metric's full name (``C3``, ``c3_cpus`` -> C3_CPUS), or BadName."""
    from trayapp.sources import compute_metrics

    cpus = tuple(m for m in compute_metrics.known_metrics() if m.endswith("_CPUS"))
    upper = metric_key(name)
    for full in (upper, f"{upper}_CPUS"):
        if full in cpus:
            return full
    return _raise(unknown("CPU quota metric", name, cpus) + _or_example(name, cpus))


def _or_example(name: str, cpus: tuple[str, ...]) -> str:
    if did_you_mean(name, cpus):
        return ""
    return " (a Compute CPU quota metric such as C3_CPUS)"


def any_metric(name: str) -> str:
    """The full name of a GPU or CPU metric in any of its forms, or BadName."""
    try:
        return gpu_metric(name)
    except BadName as gpu_problem:
        try:
            return cpu_metric(name)
        except BadName:
            raise gpu_problem from None


def _raise(message: str) -> str:
    raise BadName(message)


def not_warmed_metric(name: str, warmed: Iterable[str]) -> str:
    """Why ``name`` matches none of the ``warmed`` metrics: a real metric that is not warmed
    (``B200 is not warmed: add NVIDIA_B200_GPUS to [gpu] metrics``), or a typo of the closest
    one. A GPU name no list knows (``H10``) very close to a warmed one is taken as a typo."""
    from trayapp.answers import short_name
    from trayapp.sources import compute_metrics

    warmed = tuple(warmed)
    forms = {f: f for f in warmed} | {short_name(f): f for f in warmed}

    def typo(cutoff: float) -> str | None:
        near = difflib.get_close_matches(metric_key(name), list(forms), n=1, cutoff=cutoff)
        return forms[near[0]] if near else None

    try:
        full = any_metric(name)
    except BadName:
        guess = typo(0.5) or compute_metrics.closest(name, warmed)
        hint = f"; did you mean {in_the_form_of(name, guess)}?" if guess else ""
        return f"unknown metric {name!r}{hint}"
    guess = None if full in compute_metrics.known_metrics() else typo(0.8)
    if guess:
        return f"unknown metric {name!r}; did you mean {in_the_form_of(name, guess)}?"
    if full.endswith("_GPUS"):
        return f"{name} is not warmed: add {full} to [gpu] metrics"
    return f"{name} is not warmed: set [c3] metric = {full!r}"


def in_the_form_of(typed: str, full: str) -> str:
    """``full`` as people typed theirs: the short name (``H100``) unless they typed a full one."""
    from trayapp.answers import short_name

    key = metric_key(typed)
    long = key.startswith(("NVIDIA", "PREEMPTIBLE")) or key.endswith(
        ("_GPU", "_GPUS", "_CPU", "_CPUS")
    )
    return full if long else short_name(full)


def filter_problems(
    checks: Iterable[dict[str, object]], metrics: Iterable[str] = (), regions: Iterable[str] = ()
) -> list[tuple[str, bool]]:
    """For each metric or region filter that matches no check: (the line that says why, True
    when it is a mistake rather than a real name that is not warmed). ``show`` and the
    terminal view say the same."""
    from trayapp.answers import metric_matches

    rows = list(checks)
    warmed_metrics = tuple(dict.fromkeys(str(c["metric"]) for c in rows))
    warmed_regions = tuple(dict.fromkeys(str(c["region"]) for c in rows))
    found = []
    for name in metrics:
        if not any(metric_matches(m, name) for m in warmed_metrics):
            line = not_warmed_metric(name, warmed_metrics)
            found.append((f"--metric: {line}", line.startswith("unknown")))
            continue
    for name in regions:
        if name.strip().lower() in warmed_regions:
            continue
        try:
            region(name, warmed_regions)
        except BadName as exc:
            found.append((f"--region: {exc}", True))
            continue
        found.append(
            (f"--region: {name} is not warmed: add it to [gpu] regions or [c3] regions", False)
        )
    return found
