"""GPU family quota through the real google-cloud-quotas and google-cloud-compute clients,
against the emulator over HTTP: values and precedence, regions.get winning, the failures a
person must mend, and a transient 503."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from fakes import Recorder

from trayapp import cache
from trayapp.emulator.quotas import QUOTAS_TARGET, expected_families
from trayapp.emulator.server import expected_quotas
from trayapp.logsink import FileLog
from trayapp.sources import compute_family
from trayapp.sources.base import SourceError
from trayapp.sources.cloudquotas import CloudQuotasSource
from trayapp.sources.google import GoogleSource
from trayapp.warming.events import EventBus, WarmEvent
from trayapp.warming.levels import Level
from trayapp.warming.plan import build_plan
from trayapp.warming.scheduler import Warmer

PROJECT = "proj-a"
SCHEMA = json.loads((Path(__file__).parents[2] / "cache" / "schema.json").read_text())
# What the emulator's family entries resolve to (see emulator_quotas.FAMILY_ENTRIES), with the
# catch-all entry the fixture's emulator serves (``family_default=0``).
FAMILY_LIMITS = {
    ("us-central1", "NVIDIA_H100_GPUS"): 16.0,  # region + family
    ("europe-west4", "NVIDIA_H100_GPUS"): 24.0,  # region + family beats region only (4)
    ("us-east1", "NVIDIA_H100_GPUS"): 8.0,  # family only
    ("us-west1", "NVIDIA_H100_GPUS"): 8.0,
    ("us-central1", "NVIDIA_H200_GPUS"): 8.0,
    ("europe-west4", "NVIDIA_H200_GPUS"): 4.0,  # region only beats the catch-all
    ("us-east1", "NVIDIA_H200_GPUS"): 0.0,  # the catch-all entry
    ("us-west1", "NVIDIA_H200_GPUS"): 0.0,
}


@pytest.fixture
def emulator(make_emulator):
    return make_emulator(latency=2, family_default=0.0)


def family_calls(emulator):
    return [r for r in emulator.requests() if r.region == QUOTAS_TARGET]


def rig(emulator, tmp_path, **kw):
    bus, rec = EventBus(), Recorder()
    bus.subscribe(cache.CacheWriter(tmp_path / cache.FILENAME))
    log = FileLog(tmp_path / "cache_warm.log").open()
    bus.subscribe(log)
    bus.subscribe(rec)
    kw.setdefault("interval_s", 0.03)
    kw.setdefault("backoff_ticks", 0)
    source = GoogleSource(emulator.url, emulator.url, timeout_s=2.0)
    warmer = Warmer(build_plan([PROJECT]), source, bus, **kw)
    return warmer, rec, log


def ended(n=1):
    return lambda evs: sum(e.kind in (WarmEvent.COMPLETE, WarmEvent.INCOMPLETE) for e in evs) >= n


def checks(tmp_path):
    snap = cache.load(tmp_path / cache.FILENAME)
    return {(c["region"], c["metric"]): c for c in snap.checks(PROJECT)}, snap


def run_cycle(emulator, tmp_path, cycles=1, **kw):
    warmer, rec, log = rig(emulator, tmp_path, **kw)
    warmer.start()
    try:
        events = rec.wait_for(ended(1), timeout=60)
        for n in range(2, cycles + 1):
            warmer.force_rewarm()
            events = rec.wait_for(ended(n), timeout=60)
    finally:
        warmer.stop()
        log.close()
    return events, (tmp_path / "cache_warm.log").read_text(encoding="utf-8")


def test_the_client_parses_every_entry_exactly(emulator):
    source = CloudQuotasSource(emulator.url, timeout_s=2.0)
    try:
        answer = source.fetch_quota(PROJECT, compute_family.request())
        assert [(e.dimensions, e.value) for e in answer.entries] == expected_families(PROJECT, 0.0)
        assert answer.quota_id == "GPUS-PER-GPU-FAMILY-per-project-region"
    finally:
        source.close()
    [request] = family_calls(emulator)
    assert request.path.partition("?")[0] == (
        f"/v1/projects/{PROJECT}/locations/global/services/compute.googleapis.com/"
        "quotaInfos/GPUS-PER-GPU-FAMILY-per-project-region"
    )


def test_family_answers_fill_what_regions_get_does_not_report(emulator, tmp_path):
    events, _ = run_cycle(emulator, tmp_path)
    assert events[-1].kind is WarmEvent.COMPLETE
    by_key, snap = checks(tmp_path)
    for (region, metric), limit in FAMILY_LIMITS.items():
        check = by_key[(region, metric)]
        assert (check["status"], check["limit"], check["usage"], check["source"]) == (
            "ok",
            limit,
            None,  # Cloud Quotas gives limits, never usage
            "cloudquotas",
        ), (region, metric)
    for (region, metric), check in by_key.items():  # regions.get wins where it reports
        reported = expected_quotas(PROJECT, region)
        if metric in reported:
            assert check["source"] == "compute"
            assert (check["limit"], check["usage"]) == reported[metric]
    for region in ("us-central1", "us-east1", "us-west1", "europe-west4"):
        t4 = by_key[(region, "NVIDIA_T4_GPUS")]  # the family quota says 99 for T4
        assert (t4["source"], t4["limit"]) == (
            "compute",
            expected_quotas(PROJECT, region)["NVIDIA_T4_GPUS"][0],
        )
    assert len(family_calls(emulator)) == 1  # one call for the whole cycle
    jsonschema.validate(json.loads((tmp_path / cache.FILENAME).read_text()), SCHEMA)
    assert snap.is_complete(PROJECT)


def test_without_a_catch_all_a_region_with_no_entry_stays_not_reported(make_emulator, tmp_path):
    events, _ = run_cycle(make_emulator(latency=2), tmp_path)
    assert events[-1].kind is WarmEvent.COMPLETE
    by_key, _ = checks(tmp_path)
    for region in ("us-east1", "us-west1"):
        h200 = by_key[(region, "NVIDIA_H200_GPUS")]
        assert (h200["status"], h200["limit"], h200["error"]) == ("absent", 0.0, None)
    assert by_key[("europe-west4", "NVIDIA_H200_GPUS")]["limit"] == 4.0


def test_no_family_call_when_regions_get_reports_every_metric(emulator, tmp_path):
    bus, rec = EventBus(), Recorder()
    bus.subscribe(rec)
    plan = build_plan([PROJECT], ("NVIDIA_T4_GPUS",), ("us-central1",), "C3_CPUS", ("us-east1",))
    source = GoogleSource(emulator.url, emulator.url, timeout_s=2.0)
    warmer = Warmer(plan, source, bus, interval_s=0.03)
    warmer.start()
    try:
        rec.wait_for(ended(1), timeout=30)
    finally:
        warmer.stop()
    assert family_calls(emulator) == []


@pytest.mark.parametrize(
    ("fault", "says"),
    [
        (
            "403:SERVICE_DISABLED@cloudquotas",
            f'"gcloud services enable cloudquotas.googleapis.com --project {PROJECT}"',
        ),
        ("403@cloudquotas", "cloudquotas.quotas.get"),
        ("404@cloudquotas", "does not serve"),
    ],
)
def test_a_failure_to_mend_fails_the_checks_with_the_fix_told_once_per_run(
    emulator, tmp_path, fault, says
):
    emulator.add_fault(fault)
    events, log = run_cycle(emulator, tmp_path, cycles=2, retry_first_s=1e9)
    ends = [e for e in events if e.kind in (WarmEvent.COMPLETE, WarmEvent.INCOMPLETE)]
    assert [e.kind for e in ends] == [WarmEvent.INCOMPLETE] * 2  # 💥: unknown is no answer
    assert says in ends[0].data["reasons"][0]
    notices = [e for e in events if e.kind is WarmEvent.NOTICE]
    assert len(notices) == 1 and says in notices[0].message
    assert log.count("ℹ️ CACHE_WARM_NOTICE: ") == 1 and says in log
    by_key, snap = checks(tmp_path)
    for region, metric in FAMILY_LIMITS:
        check = by_key[(region, metric)]
        assert (check["status"], check["limit"]) == ("error", None)  # never "not reported"
        assert says in check["error"]
    assert by_key[("us-central1", "NVIDIA_T4_GPUS")]["status"] == "ok"  # the rest unaffected
    assert not snap.is_complete(PROJECT)


def test_a_transient_503_is_retried_within_the_cycle(emulator, tmp_path):
    emulator.add_fault("503@cloudquotas#1")
    events, log = run_cycle(emulator, tmp_path)
    assert events[-1].kind is WarmEvent.COMPLETE
    assert [r.status for r in family_calls(emulator)] == [503, 200]
    assert "❌ BATCH_FAIL" in log
    by_key, _ = checks(tmp_path)
    assert by_key[("us-central1", "NVIDIA_H100_GPUS")]["limit"] == 16.0


def test_a_503_that_lasts_fails_the_held_checks_and_the_round(emulator, tmp_path):
    emulator.add_fault("503@cloudquotas")
    events, _ = run_cycle(emulator, tmp_path)  # retries on, at their defaults
    assert events[-1].kind is WarmEvent.INCOMPLETE
    assert len(family_calls(emulator)) == 3  # the round's budget of attempts
    by_key, _ = checks(tmp_path)
    h100 = by_key[("us-central1", "NVIDIA_H100_GPUS")]
    assert h100["status"] == "error" and "HTTP 503" in h100["error"]  # never a fake 0 limit
    assert h100["limit"] is None
    assert by_key[("us-central1", "NVIDIA_T4_GPUS")]["error"] is None


def test_family_checks_that_failed_heal_on_their_own(emulator, tmp_path):
    emulator.add_fault("503@cloudquotas")
    warmer, rec, log = rig(emulator, tmp_path, retry_first_s=0.3, rewarm_s=1e9)
    warmer.start()
    try:
        first = rec.wait_for(ended(1), timeout=60)[-1]
        assert first.kind is WarmEvent.INCOMPLETE and "HTTP 503" in first.data["reasons"][0]
        emulator.clear_faults()  # the service is back; nobody clicks anything
        events = rec.wait_for(lambda evs: any(e.kind is WarmEvent.COMPLETE for e in evs), 60)
    finally:
        warmer.stop()
        log.close()
    retry = next(e for e in events if e.kind is WarmEvent.RETRY)
    assert retry.data["failed"] == first.data["failed"] == 9  # the held GPU checks, only
    assert events[-1].kind is WarmEvent.COMPLETE and events[-1].level is Level.COMPLETE
    assert events[-1].cycle == first.cycle  # healed by the retry, not by a new cycle
    by_key, snap = checks(tmp_path)
    for (region, metric), limit in FAMILY_LIMITS.items():
        check = by_key[(region, metric)]
        assert (check["status"], check["limit"], check["error"]) == ("ok", limit, None)
    assert all(c["error"] is None for c in by_key.values())
    assert snap.warmer["level"] == "complete" and snap.cycle(PROJECT)["failed"] == 0
    assert [r.status for r in family_calls(emulator)] == [503, 503, 503, 200]
    assert "🔁 CACHE_WARM_RETRY" in (tmp_path / "cache_warm.log").read_text(encoding="utf-8")


def test_plain_http_to_a_remote_quotas_endpoint_is_refused():
    with pytest.raises(ValueError, match="refusing plain http"):
        CloudQuotasSource("http://cloudquotas.example.com")
    with pytest.raises(SourceError, match="closed"):
        source = CloudQuotasSource("http://127.0.0.1:9")
        source.close()
        source.fetch_quota(PROJECT, compute_family.request())


def test_the_schema_allows_unknown_usage_only_for_family_answers():
    def doc(**check):
        base = {"kind": "gpu", "region": "r", "metric": "NVIDIA_H100_GPUS", "status": "ok"}
        base.update(limit=8.0, fetched_at="2026-11-24T09:59:58.001+00:00", error=None)
        return {
            "schema_version": 1,
            "written_at": "2026-11-24T10:00:00.123+00:00",
            "warmer": {"pid": 1, "level": None, "last_batch_ms": None, "paused": False},
            "projects": {
                "p": {
                    "cycle": {"id": 1, "started_at": base["fetched_at"], "completed_at": None},
                    "checks": [{**base, **check}],
                }
            },
        }

    valid = doc(usage=None, source="cloudquotas")
    valid["projects"]["p"]["cycle"].update(done=1, total=1)
    jsonschema.validate(valid, SCHEMA)
    for bad in (
        doc(usage=2.0, source="cloudquotas"),  # Cloud Quotas never gives usage
        doc(usage=None, source="compute"),  # regions.get always does
        doc(usage=None),
        doc(status="absent", limit=0.0, usage=None, source="cloudquotas"),
    ):
        bad["projects"]["p"]["cycle"].update(done=1, total=1)
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(bad, SCHEMA)


def test_one_family_call_per_project_per_cycle(emulator, tmp_path):
    bus, rec = EventBus(), Recorder()
    bus.subscribe(cache.CacheWriter(tmp_path / cache.FILENAME))
    bus.subscribe(rec)
    source = GoogleSource(emulator.url, emulator.url, timeout_s=2.0)
    warmer = Warmer(build_plan(["proj-a", "proj-b"]), source, bus, interval_s=0.03)
    warmer.start()
    try:
        rec.wait_for(lambda evs: any(e.kind is WarmEvent.COMPLETE for e in evs), timeout=60)
    finally:
        warmer.stop()
    calls = family_calls(emulator)
    assert sorted(r.project for r in calls) == ["proj-a", "proj-b"]
    snap = cache.load(tmp_path / cache.FILENAME)
    for project in ("proj-a", "proj-b"):
        h100 = snap.get(project, "europe-west4", "NVIDIA_H100_GPUS")
        assert (h100["limit"], h100["source"]) == (24.0, "cloudquotas")


def test_the_emulator_serves_the_family_quota_info_by_id(emulator):
    import urllib.error
    import urllib.request

    base = f"{emulator.url}/v1/projects/p/locations/global/services/compute.googleapis.com"
    with urllib.request.urlopen(f"{base}/quotaInfos/GPUS-PER-GPU-FAMILY-per-project-region") as r:
        body = json.loads(r.read())
    assert body["quotaId"] == "GPUS-PER-GPU-FAMILY-per-project-region"
    assert body["dimensions"] == ["region", "gpu_family"]
    assert body["dimensionsInfos"][1]["dimensions"] == {"gpu_family": "NVIDIA_H100"}
    assert body["dimensionsInfos"][0]["details"] == {"value": "0"}
    assert "dimensions" not in body["dimensionsInfos"][0]  # the catch-all (family_default)
    assert all(isinstance(e["details"]["value"], str) for e in body["dimensionsInfos"])  # int64
    with pytest.raises(urllib.error.HTTPError) as other:
        urllib.request.urlopen(f"{base}/quotaInfos/NO-SUCH-QUOTA-per-project-region")
    assert other.value.code == 404
