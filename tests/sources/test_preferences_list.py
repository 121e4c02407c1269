"""Following quota increase requests through the real google-cloud-quotas client against the
emulator: the project's QuotaPreferences are listed page by page with the quota project on
every page, the console's included, in plain cleaned values without the email or the
justification; the life of a preference (reconciling, then granted, partly granted, denied or
needing Support) is read as the emulator decides it; a refusal names the permission."""

from __future__ import annotations

import json

import pytest

from trayapp.emulator.preferences import PAGE_SIZE, PreferenceStore
from trayapp.sources import preference_states as follow
from trayapp.sources.base import SourceError
from trayapp.sources.google import GoogleSource
from trayapp.sources.preferences import Preference, PreferenceSource

PROJECT = "demo-project"  # the project the emulator's console preference belongs to
FAMILY = "GPUS-PER-GPU-FAMILY-per-project-region"
VERTEX_SPOT_H100 = "CustomModelTrainingPreemptibleH100GPUsPerProjectPerRegion"


@pytest.fixture
def source_for():
    made: list[PreferenceSource] = []

    def make(emulator, **kwargs) -> PreferenceSource:
        made.append(PreferenceSource(emulator.url, timeout_s=3.0, **kwargs))
        return made[-1]

    yield make
    for source in made:
        source.close()


def file_one(emulator, project: str, pref_id: str, body: dict) -> None:
    """A preference written to the emulator as a client's PATCH would write it."""
    raw = json.dumps({"contactEmail": "you@example.com", **body}).encode()
    status, answer = emulator.preferences.answer(
        "PATCH", project, pref_id, {"allowMissing": ["true"]}, raw
    )
    assert status == 200, answer


def vertex_body(region: str, value: int) -> dict:
    return {
        "service": "aiplatform.googleapis.com",
        "quotaId": VERTEX_SPOT_H100,
        "dimensions": {"region": region},
        "quotaConfig": {"preferredValue": str(value)},
        "justification": "secret plans",
    }


def test_the_console_preference_is_listed_in_plain_values(make_emulator, source_for):
    emulator = make_emulator()
    [found] = source_for(emulator, quota_project="billing-proj").fetch_preferences(PROJECT)
    assert isinstance(found, Preference)
    assert found.name.endswith("/quotaPreferences/console-h100-us-central1")
    assert (found.service, found.quota_id) == ("compute.googleapis.com", FAMILY)
    assert found.dimensions == {"region": "us-central1", "gpu_family": "NVIDIA_H100"}
    assert (found.preferred, found.reconciling) == (24, True)
    assert found.trace_id and found.created_at and found.updated_at
    assert "example.com" not in repr(found) and "Training runs" not in repr(found)
    listed = [r for r in emulator.requests() if "quotaPreferences" in r.path]
    assert [r.quota_project for r in listed] == ["billing-proj"]


def test_a_long_list_is_read_page_by_page(make_emulator, source_for):
    emulator = make_emulator()
    regions = [f"region-{n:02d}" for n in range(PAGE_SIZE * 2 + 5)]
    for region in regions:
        file_one(emulator, "p", f"pref-{region}", vertex_body(region, 8))
    # the emulator keeps any region; its dimensions are checked by name only
    source = source_for(emulator)
    found = source.fetch_preferences("p")
    assert sorted(p.dimensions["region"] for p in found) == regions
    pages = [r for r in emulator.requests() if "quotaPreferences" in r.path]
    assert len(pages) == 3 and source.requests == 3


@pytest.mark.parametrize("outcome", ["granted", "partly granted", "denied", "needs support"])
def test_the_life_of_a_preference(make_emulator, source_for, outcome):
    emulator = make_emulator()
    emulator.preferences = PreferenceStore(outcome=outcome, after=2, console={})
    file_one(emulator, "p", "asked", vertex_body("us-central1", 40))
    source = source_for(emulator)
    [first] = source.fetch_preferences("p")
    assert first.reconciling and follow.entry(first)["state"] == "pending"
    today = first.granted  # while reconciling: the value in effect
    assert today is not None and today < 40
    [second] = source.fetch_preferences("p")
    assert not second.reconciling
    wanted = {"granted": 40, "denied": today, "needs support": today}
    if outcome == "partly granted":
        assert today < second.granted < 40
    else:
        assert second.granted == wanted[outcome]
    entry = follow.entry(second)
    assert entry["state"] == outcome
    assert (entry["metric"], entry["tier"], entry["region"]) == ("H100", "spot", "us-central1")
    if outcome != "granted":
        assert second.state_detail and second.trace_id
        assert second.trace_id in follow.lines(entry)[1]


def test_a_preference_filed_again_is_reconciling_again(make_emulator, source_for):
    emulator = make_emulator()
    emulator.preferences = PreferenceStore(outcome="granted", after=2, console={})
    file_one(emulator, "p", "asked", vertex_body("us-east1", 8))
    source = source_for(emulator)
    source.fetch_preferences("p")
    assert source.fetch_preferences("p")[0].granted == 8
    file_one(emulator, "p", "asked", vertex_body("us-east1", 16))
    again = source.fetch_preferences("p")[0]
    assert again.reconciling and again.preferred == 16


def test_an_undecided_preference_stays_reconciling(make_emulator, source_for):
    emulator = make_emulator()  # the default store never decides
    source = source_for(emulator)
    for _ in range(4):
        [found] = source.fetch_preferences(PROJECT)
        assert found.reconciling


def test_the_demo_grants_the_console_preference():
    from trayapp.emulator.server import Emulator

    emulator = Emulator.demo()
    emulator.start()
    source = PreferenceSource(emulator.url, timeout_s=3.0)
    try:
        assert source.fetch_preferences(PROJECT)[0].reconciling
        granted = source.fetch_preferences(PROJECT)[0]
        assert (granted.reconciling, granted.granted) == (False, 24)
    finally:
        source.close()
        emulator.stop()


def test_google_source_lists_through_the_one_cloud_quotas_client(make_emulator):
    emulator = make_emulator()
    source = GoogleSource(emulator.url, None, timeout_s=3.0, prepare_compute=False)
    try:
        [found] = source.fetch_preferences(PROJECT)
        assert found.quota_id == FAMILY and source.requests == 1
    finally:
        source.close()


def test_a_refusal_names_the_permission(make_emulator, source_for):
    emulator = make_emulator(faults=["403@cloudquotas"])
    with pytest.raises(SourceError) as raised:
        source_for(emulator).fetch_preferences(PROJECT)
    assert raised.value.kind == "permission"
    assert "cloudquotas.quotas.get" in str(raised.value)


def test_hostile_text_is_cleaned_and_capped(make_emulator, source_for):
    emulator = make_emulator()
    emulator.preferences = PreferenceStore(outcome="denied", after=1, console={})
    file_one(emulator, "p", "asked", vertex_body("us-central1", 40))
    kept = emulator.preferences._kept[("p", "asked")]
    kept["quotaConfig"]["traceId"] = "t\x1b[31m" + "x" * 5000
    [found] = source_for(emulator).fetch_preferences("p")
    assert "\x1b" not in found.trace_id and len(found.trace_id) <= 80
