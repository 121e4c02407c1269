"""Capacity advice beside each region's verdict, as users read it: a real warm cycle of two
``[[launch]]`` entries against the emulator, the real AdviceClient (through the fetcher
process) asked once per launch per region where the launch fits quota, its answers kept in the
cache's ``capacity`` list as cache/schema.json says, then ``show --launch`` (text and ``--json``)
and the terminal view's launch lines from that file."""

from __future__ import annotations

import json
import re
import time
from datetime import UTC, datetime

import launch_docs
import pytest
from emulator_fixtures import *  # noqa: F403
from launch_docs import PROJECT
from userdirs import run_cli

from trayapp import cache
from trayapp.launch import board
from trayapp.launch.verdict import FITS, FITS_AT_MOST
from trayapp.sources import capacity
from trayapp.sources.base import SourceError
from trayapp.sources.capacity import CapacityRequest
from trayapp.sources.fetcher.source import HelperSource
from trayapp.sources.recipe import SourceRecipe
from trayapp.tui import model

SHAPE = "n1-standard-8+4xT4"


def iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="milliseconds")


def entry(judged, region, outcome) -> dict:
    """One ``capacity`` entry as cache/schema.json spells it."""
    launch = judged.launch
    ok = not isinstance(outcome, SourceError)
    not_offered = not ok and capacity.not_offered(outcome.kind, outcome.message)
    return {
        "launch": launch.name,
        "region": region,
        "machine_type": launch.shape.name,
        "count": launch.count,
        "spot": launch.tier == "spot",
        "score": outcome.score if ok else None,
        "uptime_s": outcome.uptime_s if ok else None,
        "zones": list(outcome.zones) if ok else [],
        "fetched_at": iso(time.time()),
        "status": "ok" if ok else "unavailable" if not_offered else "error",
        "error": None if ok else outcome.message,
    }


def ask(source, judged, region):
    launch = judged.launch
    request = CapacityRequest(region, launch.shape.name, launch.count, launch.tier == "spot")
    try:
        return source.fetch_capacity(PROJECT, request)
    except SourceError as exc:
        return exc


@pytest.fixture
def advised(tmp_path, make_emulator):
    """(env, the emulator, the advice calls a cycle makes): the file holds the advice."""
    emulator = make_emulator()
    env, path = launch_docs.warm(tmp_path / "home", emulator, launch_docs.COMPUTE)
    doc = json.loads(path.read_text())
    judged = board.judge_document(doc)
    assert [j.launch.name for j in judged] == ["t4box", SHAPE]
    # where the lane asks: each launch, each region where it fits quota
    calls = [(j, v.region) for j in judged for v in j.verdicts if v.verdict in (FITS, FITS_AT_MOST)]
    t4box = judged[0]
    emulator.requests(reset=True)
    source = HelperSource(SourceRecipe(emulator.url, timeout_s=10.0, prepare_compute=False))
    try:
        entries = [entry(j, region, ask(source, j, region)) for j, region in calls]
        asked = len(emulator.requests())
        # two more regions of the first launch, for the words: not offered, unlikely
        entries += [entry(t4box, r, ask(source, t4box, r)) for r in ("us-east1", "us-west1")]
    finally:
        source.close()
    doc["projects"][PROJECT]["capacity"] = entries
    doc["projects"][PROJECT]["extras"] = [
        {
            "key": f"capacity:{e['launch']}:{e['region']}",
            "status": e["status"],
            "fetched_at": e["fetched_at"],
            "error": e["error"],
        }
        for e in entries
    ]
    cache.write_atomic(path, doc)  # the one writer, as the warmer writes it
    return env, calls, asked


def test_two_launches_cost_one_advice_call_a_cycle_here(advised):
    _, calls, asked = advised
    # t4box (2 x n1-standard-8+4xT4) fits in us-central1 only; the x3 launch fits nowhere
    assert [(j.launch.name, region) for j, region in calls] == [("t4box", "us-central1")]
    assert asked == len(calls) == 1  # one HTTP request per call, none for a blocked launch


def test_show_launch_json_carries_the_advice(advised):
    env, _, _ = advised
    out = run_cli(env, "show", "--launch", SHAPE, "--count", "2", "--json")
    assert out.returncode == 0, out.stderr
    regions = {r["region"]: r for r in json.loads(out.stdout)[PROJECT]["regions"]}
    central = regions["us-central1"]["capacity"]
    # the emulator's table: 0.82 in us-central1, x0.95 for GPUs, / 1.1 for two machines
    assert (central["obtainability"], central["chance"]) == (0.71, "likely")
    assert central["zones"] == ["us-central1-a", "us-central1-b"]
    assert (central["status"], central["uptime_s"]) == ("ok", None)  # uptime: Spot only
    assert regions["us-east1"]["capacity"]["chance"] == "not offered"
    assert regions["us-west1"]["capacity"]["chance"] == "unlikely"
    assert regions["europe-west4"]["capacity"] is None  # never asked: nothing said
    assert regions["us-central1"]["verdict"] == "fits"  # the verdict is the quota's alone


def test_show_launch_text_says_it_beside_the_verdict(advised):
    env, _, _ = advised
    out = run_cli(env, "show", "--launch", SHAPE, "--count", "2")
    assert out.returncode == 0, out.stderr
    rows = out.stdout.splitlines()
    assert rows[1].split() == ["REGION", "VERDICT", "CAPACITY", "WHY"]
    [central] = [r for r in rows if r.startswith("us-central1")]
    assert re.split(r"\s{2,}", central) == [
        "us-central1",
        "fits",
        "likely (0.71), zones us-central1-a, us-central1-b",
    ]
    [east] = [r for r in rows if r.startswith("us-east1")]
    assert "not offered" in east and "NVIDIA_T4_GPUS" in east
    [west] = [r for r in rows if r.startswith("us-west1")]
    assert "unlikely (0.10)" in west and "zone" not in west
    # a count the advice was not asked for: no column, the table as it always was
    other = run_cli(env, "show", "--launch", SHAPE, "--count", "3")
    assert "CAPACITY" not in other.stdout and "likely" not in other.stdout


def test_the_terminal_view_says_it_under_the_launch(advised, tmp_path):
    path = tmp_path / "home" / "cache" / "quota-tray" / cache.FILENAME
    snap = cache.load(path)
    said = model.launch_lines(snap, [PROJECT], time.time())
    assert said[0] == "t4box (n1-standard-8+4xT4 x2): fits in us-central1"
    assert said[1] == (
        "  capacity: us-central1 likely (0.71), zones us-central1-a, us-central1-b; "
        "us-west1 unlikely (0.10); us-east1 not offered"
    )  # in the verdicts' order, best first
    assert said[2].startswith(f"{SHAPE} x3: blocked everywhere")  # no advice: no line
