"""A GPU that waits on the family quota is told why: its region's quota list did not include
it. An A100 in a region whose regions.get does not list it is no H100-class GPU, and its
failure must not say so. Real clients against the emulator, through the warmer."""

from __future__ import annotations

import pytest
from emulator_fixtures import no_adc  # noqa: F401 - a fixture
from fakes import Recorder

from trayapp import cache
from trayapp.emulator.server import expected_quotas
from trayapp.sources.google import GoogleSource
from trayapp.warming.events import EventBus, WarmEvent
from trayapp.warming.plan import build_plan
from trayapp.warming.scheduler import Warmer

pytestmark = pytest.mark.usefixtures("no_adc")
PROJECT = "proj-a"
REGIONS = ("us-central1", "us-east1")  # the emulator's us-east1 lists no A100


@pytest.mark.parametrize("fault", ["403@cloudquotas", "403:SERVICE_DISABLED@cloudquotas"])
def test_an_a100_waiting_on_the_family_quota_says_why_it_needs_it(make_emulator, tmp_path, fault):
    assert "NVIDIA_A100_GPUS" not in expected_quotas(PROJECT, "us-east1")
    emulator = make_emulator(latency=2, faults=[fault])
    bus, rec = EventBus(), Recorder()
    bus.subscribe(cache.CacheWriter(tmp_path / cache.FILENAME))
    bus.subscribe(rec)
    plan = build_plan([PROJECT], ("NVIDIA_A100_GPUS",), REGIONS, "C3_CPUS", ("us-east1",))
    warmer = Warmer(plan, GoogleSource(emulator.url, None, 2.0), bus, interval_s=0.03)
    warmer.start()
    try:
        rec.wait_for(lambda evs: any(e.kind is WarmEvent.INCOMPLETE for e in evs), timeout=60)
    finally:
        warmer.stop()
    by_region = {
        c["region"]: c
        for c in cache.load(tmp_path / cache.FILENAME).checks(PROJECT)
        if c["metric"] == "NVIDIA_A100_GPUS"
    }
    assert by_region["us-central1"]["status"] == "ok"  # listed there: no family quota needed
    a100 = by_region["us-east1"]
    assert a100["status"] == "error"
    assert "H100" not in a100["error"]
    assert "GPU family quota" in a100["error"]
    assert "did not list" in a100["error"]
