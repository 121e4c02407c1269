"""The enrichments through the real clients against the emulator: usage from Cloud Monitoring
(gRPC), capacity advice from Compute, and quota requests followed from Cloud Quotas, asked at
a round's end by the real warmer and written into the cache file."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from emulator_fixtures import no_adc  # noqa: F401 - a fixture
from fakes import Recorder

from trayapp import cache, config
from trayapp.emulator.preferences import PreferenceStore
from trayapp.sources.google import GoogleSource
from trayapp.warming.events import EventBus, WarmEvent
from trayapp.warming.lanes import lanes_for
from trayapp.warming.scheduler import Warmer

pytestmark = pytest.mark.usefixtures("no_adc")
PROJECT = "demo-project"


@pytest.fixture
def emulator(make_emulator: Any) -> Any:
    return make_emulator()


@pytest.fixture
def source(emulator: Any) -> Iterator[GoogleSource]:
    made = GoogleSource(
        emulator.url, emulator.url, 5.0, monitoring_endpoint=emulator.monitoring_url
    )
    yield made
    made.close()


def warm(
    source: GoogleSource, path: Any, data: dict[str, Any], **kw: Any
) -> tuple[Warmer, Recorder]:
    settings = config.from_mapping({"projects": [PROJECT], **data})
    bus = EventBus()
    rec = Recorder()
    bus.subscribe(cache.CacheWriter(path / cache.FILENAME))
    bus.subscribe(rec)
    kw.setdefault("interval_s", 0.05)
    warmer = Warmer(settings.plan(), source, bus, enrichments=lanes_for(source), **kw)
    return warmer, rec


def ended(events: list) -> bool:
    return any(e.kind in (WarmEvent.COMPLETE, WarmEvent.INCOMPLETE) for e in events)


def test_usage_from_monitoring_makes_free_exact(source, tmp_path):
    gpu = {"service": "vertex", "metrics": ["NVIDIA_T4_GPUS", "NVIDIA_H100_GPUS"],
           "regions": ["us-central1", "europe-west4", "us-east1"]}  # fmt: skip
    warmer, rec = warm(source, tmp_path, {"gpu": gpu})
    warmer.start()
    events = rec.wait_for(ended, timeout=60)
    warmer.stop()
    assert events[-1].kind is WarmEvent.COMPLETE  # what no point answers is no failure
    snap = cache.load(tmp_path / cache.FILENAME)
    h100 = snap.get(PROJECT, "us-central1", "NVIDIA_H100_GPUS")
    t4 = snap.get(PROJECT, "us-central1", "NVIDIA_T4_GPUS")
    assert (h100["usage"], h100["usage_source"]) == (16, "monitoring")
    assert t4["usage"] == 12  # the newest point, not the older 4
    assert cache.parse_time(t4["usage_at"]) > cache.parse_time(h100["usage_at"]) - 600
    east = snap.get(PROJECT, "us-east1", "NVIDIA_T4_GPUS")
    assert east["status"] == "ok" and east["usage"] is None  # no point: still ≤ its limit
    outcomes = {e["key"].partition(":")[0]: e["status"] for e in snap.section(PROJECT, "extras")}
    assert outcomes == {"usage": "ok", "preferences": "ok", "eligibility": "ok"}  # C3: Compute
    assert any("no usage point" in e.message for e in events if e.kind is WarmEvent.NOTICE)


def test_a_monitoring_refusal_leaves_the_limits_and_the_cycle_complete(emulator, source, tmp_path):
    emulator.add_fault("403@monitoring")
    gpu = {"service": "vertex", "metrics": ["NVIDIA_H100_GPUS"], "regions": ["us-central1"]}
    warmer, rec = warm(source, tmp_path, {"gpu": gpu})
    warmer.start()
    events = rec.wait_for(ended, timeout=60)
    health = warmer.health()
    warmer.stop()
    assert events[-1].kind is WarmEvent.COMPLETE
    check = cache.load(tmp_path / cache.FILENAME).get(PROJECT, "us-central1", "NVIDIA_H100_GPUS")
    assert check["status"] == "ok" and check["limit"] is not None and check["usage"] is None
    notice = [e.message for e in events if e.kind is WarmEvent.NOTICE]
    assert len(notice) == 1 and "monitoring.timeSeries.list" in notice[0]
    assert health["enrichments"][0]["status"] == "error"


def test_capacity_advice_where_a_launch_fits_and_a_request_followed_to_its_grant(
    emulator, source, tmp_path
):
    emulator.preferences = PreferenceStore(outcome="granted", after=2)
    data = {
        "gpu": {"metrics": ["NVIDIA_T4_GPUS", "NVIDIA_H100_GPUS"],
                "regions": ["us-central1", "us-east1", "us-west1"]},
        "launch": [{"name": "t4box", "shape": "n1-standard-8+4xT4", "count": 1}],
    }  # fmt: skip
    warmer, rec = warm(source, tmp_path, data, rewarm_s=0.5)
    warmer.start()
    events = rec.wait_for(
        lambda evs: (
            any(e.kind is WarmEvent.REWARM and e.data["reason"] == "granted" for e in evs)
            and sum(e.kind is WarmEvent.COMPLETE for e in evs) >= 3
        ),
        timeout=90,
    )
    warmer.stop()
    snap = cache.load(tmp_path / cache.FILENAME)
    advice = {e["region"]: e for e in snap.section(PROJECT, "capacity")}
    assert advice["us-central1"]["launch"] == "t4box" and advice["us-central1"]["score"] > 0.5
    assert advice["us-central1"]["zones"]
    said = [e for e in events if e.kind is WarmEvent.REQUEST]
    assert [e.data["state"] for e in said] == ["pending", "granted"]
    assert "granted 24 in us-central1" in said[-1].message and said[-1].data["plain"]
    (entry,) = snap.section(PROJECT, "requests")
    assert (entry["state"], entry["granted"], entry["metric"]) == ("granted", 24, "H100")
    h100 = snap.get(PROJECT, "us-central1", "NVIDIA_H100_GPUS")
    assert h100["limit"] == 24  # the grant, read again at once (it was 16)


def test_whether_a_compute_quota_may_be_raised_comes_from_its_quota_info(
    emulator, source, tmp_path
):
    gpu = {"metrics": ["NVIDIA_T4_GPUS", "NVIDIA_A100_GPUS"], "regions": ["us-west1", "us-east1"]}
    warmer, rec = warm(source, tmp_path, {"gpu": gpu})
    warmer.start()
    rec.wait_for(ended, timeout=60)
    warmer.stop()
    snap = cache.load(tmp_path / cache.FILENAME)
    a100 = snap.get(PROJECT, "us-west1", "NVIDIA_A100_GPUS")
    absent = snap.get(PROJECT, "us-east1", "NVIDIA_A100_GPUS")
    t4 = snap.get(PROJECT, "us-west1", "NVIDIA_T4_GPUS")
    assert (a100["status"], a100["eligibility"]) == ("ok", "not_enough_usage_history")
    assert (absent["status"], absent["eligibility"]) == ("absent", "not_enough_usage_history")
    assert t4["eligibility"] == "eligible"
    asked = [
        r.path.partition("?")[0]
        for r in emulator.requests()
        if "quotaInfos/" in r.path and "GPU-FAMILY" not in r.path  # the family quota's own call
    ]
    assert sorted(p.rsplit("/", 1)[1] for p in asked) == [
        "C3-CPUS-per-project-region",
        "NVIDIA-A100-GPUS-per-project-region",
        "NVIDIA-T4-GPUS-per-project-region",
    ]  # one per metric, for every region at once
