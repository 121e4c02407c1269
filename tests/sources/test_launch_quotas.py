"""What a launch consumes besides its GPUs, warmed through the real google-cloud-compute and
google-cloud-quotas clients against the emulator: a region's CPU metrics read from the answer
its GPU checks already get (no extra regions.get), the project-wide quotas from one
projects.get per project per cycle, and the Vertex AI Spot training CPUs from one Cloud Quotas
call. Expected values are written out by hand from what the emulator serves."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from fakes import Recorder

from trayapp import cache
from trayapp.emulator.server import expected_quotas
from trayapp.sources.google import GoogleSource
from trayapp.warming.events import EventBus, WarmEvent
from trayapp.warming.plan import build_plan
from trayapp.warming.scheduler import Warmer

PROJECT = "proj-launch"
CPUS = "CUSTOM_MODEL_TRAINING_PREEMPTIBLE_CPUS"
REGIONS = ("us-central1", "us-east1")
COMPUTE_EXTRA = (
    ("cpu", "CPUS", "compute", "on-demand"),
    ("global", "GPUS_ALL_REGIONS", "compute", "on-demand"),
    ("global", "CPUS_ALL_REGIONS", "compute", "on-demand"),
)


def run(emulator, tmp_path, plan, cycles=1):
    bus, rec = EventBus(), Recorder()
    bus.subscribe(cache.CacheWriter(tmp_path / cache.FILENAME))
    bus.subscribe(rec)
    source = GoogleSource(emulator.url, emulator.url, 5.0, prepare_compute=plan.uses_compute)
    warmer = Warmer(plan, source, bus, interval_s=0.02, backoff_ticks=0, retry_first_s=1e9)
    warmer.start()

    def ended(n):
        return lambda evs: (
            sum(e.kind in (WarmEvent.COMPLETE, WarmEvent.INCOMPLETE) for e in evs) >= n
        )

    try:
        events = rec.wait_for(ended(1), timeout=60)
        for n in range(2, cycles + 1):
            warmer.force_rewarm()
            events = rec.wait_for(ended(n), timeout=60)
    finally:
        warmer.stop()
    snap = cache.load(tmp_path / cache.FILENAME)
    ends = [e for e in events if e.kind in (WarmEvent.COMPLETE, WarmEvent.INCOMPLETE)]
    return ends, snap


def by_key(snap):
    return {(e["kind"], e["region"], e["metric"]): e for e in snap.launch_quotas(PROJECT)}


def test_compute_launch_quotas_cost_one_projects_get_and_no_regions_get(make_emulator, tmp_path):
    emulator = make_emulator(project_quotas={PROJECT: {"GPUS_ALL_REGIONS": (8, 2)}})
    plan = build_plan(
        [PROJECT], ("NVIDIA_T4_GPUS",), REGIONS, "C3_CPUS", REGIONS, extra=COMPUTE_EXTRA
    )
    ends, snap = run(emulator, tmp_path, plan, cycles=2)
    assert [e.kind for e in ends] == [WarmEvent.COMPLETE] * 2
    paths = [r.path.partition("?")[0] for r in emulator.requests()]
    assert paths.count(f"/compute/v1/projects/{PROJECT}") == 2  # one per cycle
    assert len([p for p in paths if "/regions/" in p]) == 2 * len(REGIONS)  # as without launch

    quotas = by_key(snap)
    assert set(quotas) == {
        ("cpu", "us-central1", "CPUS"),
        ("cpu", "us-east1", "CPUS"),
        ("global", None, "GPUS_ALL_REGIONS"),
        ("global", None, "CPUS_ALL_REGIONS"),
    }
    gpus = quotas[("global", None, "GPUS_ALL_REGIONS")]
    assert (gpus["status"], gpus["limit"], gpus["usage"], gpus["source"]) == (
        "ok",
        8.0,
        2.0,
        "compute",
    )
    assert quotas[("global", None, "CPUS_ALL_REGIONS")]["limit"] == 2400.0  # the default
    for region in REGIONS:  # the same regions.get answer as the region's GPU checks
        cpus = quotas[("cpu", region, "CPUS")]
        assert (cpus["limit"], cpus["usage"]) == expected_quotas(PROJECT, region)["CPUS"]
    schema = json.loads((Path(__file__).parents[2] / "cache" / "schema.json").read_text())
    jsonschema.validate(json.loads((tmp_path / cache.FILENAME).read_text()), schema)
    # the checks people see are unchanged: GPU and C3 only, counted as before
    assert {c["kind"] for c in snap.checks(PROJECT)} == {"gpu", "c3"}
    assert snap.cycle(PROJECT)["total"] == 2 * len(REGIONS)


def test_vertex_spot_training_cpus_are_one_cloud_quotas_call(make_emulator, tmp_path):
    emulator = make_emulator()
    plan = build_plan(
        [PROJECT],
        ("NVIDIA_H100_GPUS",),
        ("us-central1", "us-east1", "us-west1"),
        "C3_CPUS",
        ("us-east1",),
        gpu_service="vertex",
        spot=True,
        extra=(("vertex_cpu", CPUS, "vertex", "spot"),),
    )
    ends, snap = run(emulator, tmp_path, plan)
    assert ends[-1].kind is WarmEvent.COMPLETE
    asked = [r.path for r in emulator.requests() if "PreemptibleCPUs" in r.path]
    assert len(asked) == 1
    quotas = by_key(snap)
    central = quotas[("vertex_cpu", "us-central1", CPUS)]
    assert (central["status"], central["limit"], central["usage"]) == ("ok", 448.0, None)
    assert central["quota_id"] == "CustomModelTrainingPreemptibleCPUsPerProjectPerRegion"
    assert quotas[("vertex_cpu", "us-east1", CPUS)]["limit"] == 48.0
    assert quotas[("vertex_cpu", "us-west1", CPUS)]["limit"] == 1.0  # the catch-all


@pytest.mark.parametrize("fault", ["403", "503"])
def test_a_failing_projects_get_fails_only_the_project_wide_quotas(make_emulator, tmp_path, fault):
    emulator = make_emulator(faults=[f"{fault}@project"])
    plan = build_plan(
        [PROJECT], ("NVIDIA_T4_GPUS",), REGIONS, "C3_CPUS", REGIONS, extra=COMPUTE_EXTRA
    )
    ends, snap = run(emulator, tmp_path, plan)
    assert ends[-1].kind is WarmEvent.INCOMPLETE  # a launch's quota unknown: not complete
    quotas = by_key(snap)
    for metric in ("GPUS_ALL_REGIONS", "CPUS_ALL_REGIONS"):
        entry = quotas[("global", None, metric)]
        assert (entry["status"], entry["limit"]) == ("error", None)
        assert entry["error"].startswith(f"{PROJECT}/project-wide quotas: ")
    assert all(quotas[("cpu", r, "CPUS")]["status"] == "ok" for r in REGIONS)
    assert all(c["status"] == "ok" and c["error"] is None for c in snap.checks(PROJECT))
