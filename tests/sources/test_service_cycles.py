"""Whole warm cycles reading Vertex AI training and Cloud Build private pool quota (and Compute
Spot) through the real google-cloud-quotas and google-cloud-compute clients against the
emulator over HTTP: which calls are made, what the cache says, and the failures a person must
mend. Expected values are written out from the emulator's table (``quota_data``)."""

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

PROJECT = "proj-v"
SCHEMA = json.loads((Path(__file__).parents[2] / "cache" / "schema.json").read_text())
DESIGN = {"gpu_service": "vertex", "spot": True, "c3_service": "cloudbuild"}


def ended(n=1):
    return lambda evs: sum(e.kind in (WarmEvent.COMPLETE, WarmEvent.INCOMPLETE) for e in evs) >= n


def run(emulator, tmp_path, plan, cycles=1, **kw):
    bus, rec = EventBus(), Recorder()
    bus.subscribe(cache.CacheWriter(tmp_path / cache.FILENAME))
    bus.subscribe(rec)
    source = GoogleSource(
        emulator.url, emulator.url, timeout_s=2.0, prepare_compute=plan.uses_compute
    )
    kw.setdefault("retry_first_s", 1e9)
    warmer = Warmer(plan, source, bus, interval_s=0.02, backoff_ticks=0, **kw)
    warmer.start()
    try:
        events = rec.wait_for(ended(1), timeout=60)
        for n in range(2, cycles + 1):
            warmer.force_rewarm()
            events = rec.wait_for(ended(n), timeout=60)
    finally:
        warmer.stop()
    snap = cache.load(tmp_path / cache.FILENAME)
    by_key = {(c["kind"], c["region"], c["metric"]): c for c in snap.checks(PROJECT)}
    return events, by_key, snap, source


def paths(emulator, word):
    return [r.path.partition("?")[0] for r in emulator.requests() if word in r.path]


def test_the_original_design_checks_make_no_compute_call(make_emulator, tmp_path):
    emulator = make_emulator()
    events, by_key, snap, source = run(emulator, tmp_path, build_plan([PROJECT], **DESIGN))
    assert events[-1].kind is WarmEvent.COMPLETE
    assert len(by_key) == 38
    assert paths(emulator, "/compute/v1/") == []  # no regions.get at all
    assert source.compute._client is None  # google-cloud-compute was never even set up
    vertex_calls = paths(emulator, "aiplatform")
    assert len(vertex_calls) == 5 and len(set(vertex_calls)) == 5  # one per GPU type
    assert all("/quotaInfos/CustomModelTrainingPreemptible" in p for p in vertex_calls)
    builds = [r.path for r in emulator.requests() if "cloudbuild" in r.path]
    assert len(builds) == 2 and "pageToken=" in builds[1]  # one list: its two pages

    t4 = by_key[("gpu", "us-central1", "NVIDIA_T4_GPUS")]
    assert {k: t4[k] for k in ("status", "limit", "usage", "source", "service", "tier")} == {
        "status": "ok",
        "limit": 32.0,  # the Spot region entry, not Compute's PREEMPTIBLE_NVIDIA_T4_GPUS
        "usage": None,
        "source": "cloudquotas",
        "service": "vertex",
        "tier": "spot",
    }
    assert t4["quota_id"] == "CustomModelTrainingPreemptibleT4GPUsPerProjectPerRegion"
    assert t4["quota_metric"] == (
        "aiplatform.googleapis.com/custom_model_training_preemptible_nvidia_t4_gpus"
    )
    assert by_key[("gpu", "us-east1", "NVIDIA_L4_GPUS")]["unlimited"] is True
    assert by_key[("gpu", "us-east1", "NVIDIA_L4_GPUS")]["limit"] is None
    h200 = by_key[("gpu", "us-east1", "NVIDIA_H200_GPUS")]
    assert (h200["status"], h200["error"]) == ("absent", None)  # not offered there
    assert by_key[("gpu", "europe-west4", "NVIDIA_H200_GPUS")]["limit"] == 16.0

    c3 = {r: c for (kind, r, _), c in by_key.items() if kind == "c3"}
    assert {c["service"] for c in c3.values()} == {"cloudbuild"}
    assert {c["tier"] for c in c3.values()} == {"on-demand"}
    assert c3["us-central1"]["limit"] == 176.0  # region + build_origin=default
    assert c3["europe-west4"]["limit"] == 176.0  # region alone beats default alone
    assert c3["us-east4"]["limit"] == 44.0  # the other origin's 500 never counts
    assert c3["us-west2"].get("unlimited") is True
    assert c3["southamerica-east1"]["status"] == "absent"
    assert c3["us-east1"]["quota_metric"] == (
        "cloudbuild.googleapis.com/concurrent_private_pool_c3_build_cpus"
    )
    jsonschema.validate(json.loads((tmp_path / cache.FILENAME).read_text()), SCHEMA)
    assert snap.is_complete(PROJECT)


@pytest.mark.parametrize("target", ["aiplatform", "cloudbuild"])
def test_a_disabled_api_fails_every_quota_check_with_the_fix(make_emulator, tmp_path, target):
    emulator = make_emulator(faults=[f"403:SERVICE_DISABLED@{target}"])
    events, by_key, snap, _ = run(emulator, tmp_path, build_plan([PROJECT], **DESIGN), cycles=2)
    ends = [e for e in events if e.kind in (WarmEvent.COMPLETE, WarmEvent.INCOMPLETE)]
    assert [e.kind for e in ends] == [WarmEvent.INCOMPLETE] * 2
    fix = f"gcloud services enable cloudquotas.googleapis.com --project {PROJECT}"
    notices = [e for e in events if e.kind is WarmEvent.NOTICE]
    assert len(notices) == 1 and fix in notices[0].message  # once per run
    failed = [c for c in by_key.values() if c["status"] == "error"]
    assert failed and all(fix in c["error"] for c in failed)
    assert all(c["status"] != "absent" or c["error"] is None for c in by_key.values())
    assert not snap.is_complete(PROJECT)


def test_a_missing_permission_fails_the_checks_of_its_call_only(make_emulator, tmp_path):
    emulator = make_emulator(faults=["403@cloudbuild"])
    events, by_key, _, _ = run(emulator, tmp_path, build_plan([PROJECT], **DESIGN))
    assert events[-1].kind is WarmEvent.INCOMPLETE
    failed = [c for c in by_key.values() if c["error"]]
    assert {c["kind"] for c in failed} == {"c3"} and len(failed) == 18  # Cloud Build's
    assert all("roles/cloudquotas.viewer" in c["error"] for c in failed)
    gpu = [c for (kind, _, _), c in by_key.items() if kind == "gpu"]
    assert all(c["status"] in ("ok", "absent") and c["error"] is None for c in gpu)
    assert len(paths(emulator, "cloudbuild")) == 1  # the same answer for the rest: not asked


def test_a_lasting_503_fails_only_its_call(make_emulator, tmp_path):
    emulator = make_emulator(faults=["503@aiplatform"])
    events, by_key, _, _ = run(
        emulator, tmp_path, build_plan([PROJECT], ("NVIDIA_T4_GPUS",), **DESIGN)
    )
    assert events[-1].kind is WarmEvent.INCOMPLETE
    c3 = [c for (kind, _, _), c in by_key.items() if kind == "c3"]
    assert all(c["error"] is None and c["status"] in ("ok", "absent") for c in c3)
    t4 = [c for (kind, _, _), c in by_key.items() if kind == "gpu"]
    assert all(c["status"] == "error" and "HTTP 503" in c["error"] for c in t4)
    assert len(paths(emulator, "aiplatform")) == 3  # the round's budget for that one call


def test_a_transient_503_of_a_call_answering_one_check_is_asked_again(make_emulator, tmp_path):
    emulator = make_emulator(faults=["503@aiplatform#1", "503@cloudbuild#2"])
    plan = build_plan(
        [PROJECT], ("NVIDIA_T4_GPUS",), ("us-central1",), "C3_CPUS", ("us-east1",), **DESIGN
    )
    events, by_key, _, _ = run(emulator, tmp_path, plan)
    assert events[-1].kind is WarmEvent.COMPLETE
    assert [r.status for r in emulator.requests() if r.region == "aiplatform"] == [503, 200]
    assert [r.status for r in emulator.requests() if r.region == "cloudbuild"][:3] == [
        503,
        503,
        200,
    ]
    assert by_key[("gpu", "us-central1", "NVIDIA_T4_GPUS")]["limit"] == 32.0


def test_a_quota_the_service_does_not_have_is_not_reported_and_told_once(make_emulator, tmp_path):
    emulator = make_emulator()
    plan = build_plan([PROJECT], ("NVIDIA_B200_GPUS",), ("us-central1",), **DESIGN)
    events, by_key, _, _ = run(emulator, tmp_path, plan, cycles=2)
    assert events[-1].kind is WarmEvent.COMPLETE
    b200 = by_key[("gpu", "us-central1", "NVIDIA_B200_GPUS")]
    assert (b200["status"], b200["error"]) == ("absent", None)
    notices = [e for e in events if e.kind is WarmEvent.NOTICE]
    assert len(notices) == 1
    assert "custom_model_training_preemptible_nvidia_b200_gpus" in notices[0].message


def test_compute_spot_reads_preemptible_quota_and_the_preemptible_family(make_emulator, tmp_path):
    emulator = make_emulator()
    plan = build_plan(
        [PROJECT], ("NVIDIA_T4_GPUS", "NVIDIA_H200_GPUS"), ("us-central1", "us-east1"), spot=True
    )
    events, by_key, _, _ = run(emulator, tmp_path, plan)
    assert events[-1].kind is WarmEvent.COMPLETE
    t4 = by_key[("gpu", "us-central1", "NVIDIA_T4_GPUS")]
    reported = expected_quotas(PROJECT, "us-central1")["PREEMPTIBLE_NVIDIA_T4_GPUS"]
    assert (t4["limit"], t4["usage"], t4["tier"], t4["source"]) == (*reported, "spot", "compute")
    h200 = by_key[("gpu", "us-central1", "NVIDIA_H200_GPUS")]
    assert (h200["limit"], h200["source"]) == (32.0, "cloudquotas")
    assert h200["quota_metric"] == "compute.googleapis.com/preemptible_gpus_per_gpu_family"
    assert by_key[("gpu", "us-east1", "NVIDIA_H200_GPUS")]["status"] == "absent"
    assert len(paths(emulator, "compute.googleapis.com/quotaInfos")) == 1  # one list
