"""``quota-tray show --launch SHAPE [--count N]``: can I launch this, here, now, from the cache
(no network): a row per region, best first, with what stops it; ``--json`` one object per
region. Exit 0 when some region fits (``fits ≤`` included: it says so), 1 when none does, 3
when nothing is known. Standard library only, like ``show``."""

from __future__ import annotations

import json
import sys

from trayapp import answers, words

TYPE_CHECKING = False  # the shape table and the verdict load only when --launch is given
if TYPE_CHECKING:
    import argparse
    from typing import Any

    from trayapp.cache import Snapshot
    from trayapp.launch.capacity import Advice
    from trayapp.launch.needs import Launch
    from trayapp.launch.verdict import RegionVerdict

COLUMNS = ("REGION", "VERDICT", "WHY")
CAPACITY = "CAPACITY"  # a column beside the verdict, shown when the cache holds advice


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``--launch`` and ``--count`` of ``show``."""
    parser.add_argument(
        "--launch",
        metavar="SHAPE",
        help="can I launch it: a machine type (a3-highgpu-8g), 8xH100 or n1-standard-8+4xT4",
    )
    parser.add_argument(
        "--count", type=_whole, metavar="N", help="with --launch: N machines or replicas"
    )


def _whole(text: str) -> int:
    import argparse

    if not text.strip().isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number of 1 or more: {text!r}")
    return int(text)


def launch_of(snap: Snapshot, projects: list[str], shape_text: str, count: int) -> Launch:
    """The launch ``shape_text`` names, read with the service and tier the cache warmed for its
    GPU (Compute on-demand first when several are); ValueError in one line."""
    from trayapp.launch.needs import Launch
    from trayapp.launch.shapes import parse_shape
    from trayapp.sources import quota_names

    shape = parse_shape(shape_text)
    if shape.gpu_metric is None:
        return Launch(shape.name, shape, count, "cloudbuild", "on-demand")
    kinds = {
        (quota_names.service_of(c), quota_names.tier_of(c))
        for p in projects
        for c in snap.checks(p)
        if c["kind"] == "gpu" and c["metric"] == shape.gpu_metric
    }
    if not kinds:
        short = words.short_name(shape.gpu_metric)
        raise ValueError(
            f"{short} is not warmed, so {shape.name} cannot be judged: "
            f"add {shape.gpu_metric} to [gpu] metrics"
        )
    service, tier = min(kinds, key=lambda k: (k[0] != "compute", k[1] != "on-demand"))
    return Launch(shape.name, shape, count, service, tier)


def show_launch(
    snap: Snapshot, projects: list[str], args: argparse.Namespace, max_age: float, now: float
) -> int:
    from trayapp.launch import capacity, verdict

    try:
        launch = launch_of(snap, projects, args.launch, args.count or 1)
    except ValueError as exc:
        print(f"quota-tray: --launch: {exc}", file=sys.stderr)
        return 2
    judged = {
        p: verdict.judge(launch, snap.checks(p), snap.launch_quotas(p), max_age, now)
        for p in projects
    }
    advice = {
        p: capacity.for_launch(
            snap, p, launch, capacity.names_for(snap.doc["projects"].get(p) or {}, launch)
        )
        for p in projects
    }
    if args.json:
        body = {
            p: {"launch": _launch_json(launch), "regions": _regions_json(vs, advice[p])}
            for p, vs in judged.items()
        }
        print(json.dumps(words.whole_numbers(body), indent=2))
    else:
        for number, (project, verdicts) in enumerate(judged.items()):
            if number:
                print()
            said = {r: a.text(max_age, now) for r, a in advice[project].items()}
            _print(project, launch, verdicts, said)
    every = [v for vs in judged.values() for v in vs]
    if every and all(v.verdict == verdict.UNKNOWN for v in every):
        return 3
    return 0 if any(v.verdict in (verdict.FITS, verdict.FITS_AT_MOST) for v in every) else 1


def _regions_json(verdicts: list[RegionVerdict], advice: dict[str, Advice]) -> list[Any]:
    """Each region's verdict, with ``capacity`` (the advice; null where there is none)."""
    return [
        {**v.as_json(), "capacity": advice[v.region].as_json() if v.region in advice else None}
        for v in verdicts
    ]


def _launch_json(launch: Launch) -> dict[str, Any]:
    return {
        "shape": launch.shape.name,
        "count": launch.count,
        "service": launch.service,
        "tier": launch.tier,
        "gpu": launch.shape.gpu_metric,
        "gpus": launch.shape.gpus * launch.count,
        "vcpus": launch.shape.vcpus * launch.count,
    }


def _print(
    project: str, launch: Launch, verdicts: list[RegionVerdict], said: dict[str, str]
) -> None:
    """The summary, then a row per region; ``said``: region -> its capacity advice in words."""
    from trayapp.launch import verdict

    print(f"{answers.clean(project)}: {verdict.summary(launch, verdicts)}")
    shown = any(said.get(v.region) for v in verdicts)  # no advice: the table as it always was
    table = [(*COLUMNS[:2], CAPACITY, COLUMNS[2]) if shown else COLUMNS]
    for v in verdicts:
        why = "; ".join(v.reasons())
        if v.verdict == verdict.FITS_AT_MOST and not why:
            why = verdict.IF_NOTHING_ELSE
        cells = (answers.clean(v.region, 40), v.verdict, answers.clean(why, 160))
        table.append((*cells[:2], said.get(v.region, ""), cells[2]) if shown else cells)
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]) - 1)]
    for row in table:
        print(
            "  ".join(
                [*(c.ljust(w) for c, w in zip(row[:-1], widths, strict=True)), row[-1]]
            ).rstrip()
        )
