"""Capacity advice in words: the threshold of "likely", the zones, the uptime Compute sends as
a Duration, the request body, and the cache entries a reader meets (junk included)."""

from __future__ import annotations

import pytest

from trayapp import cache, words
from trayapp.launch import capacity as read
from trayapp.launch.needs import Launch
from trayapp.launch.shapes import parse_shape
from trayapp.sources import capacity
from trayapp.sources.capacity import CapacityRequest


@pytest.mark.parametrize(
    ("score", "zones", "said"),
    [
        (0.82, ["us-east4-a", "us-east4-b"], "likely (0.82), zones us-east4-a, us-east4-b"),
        (0.5, ["us-east4-a"], "likely (0.50), zone us-east4-a"),
        (0.49, ["us-east4-c"], "unlikely (0.49)"),  # where it is unlikely, no zone to go to
        (0.12, [], "unlikely (0.12)"),
        (None, ["us-east4-a"], ""),
        (True, [], ""),
    ],
)
def test_the_words(score, zones, said):
    assert words.chance(score, zones) == said


def test_likely_is_more_likely_than_not():
    assert capacity.LIKELY_AT == words.LIKELY_AT == 0.5
    assert capacity.likely(0.5) and not capacity.likely(0.4999) and not capacity.likely(None)
    assert (capacity.LIKELY, capacity.UNLIKELY) == ("likely", "unlikely")


@pytest.mark.parametrize(
    ("text", "seconds"), [("3600s", 3600.0), ("1.5s", 1.5), ("1h", None), (3600, None)]
)
def test_uptime_is_a_duration(text, seconds):
    assert capacity.uptime_seconds(text) == seconds


def test_the_body_names_shape_count_and_model():
    body = capacity.request_body(CapacityRequest("us-east4", "a3-highgpu-8g", 2, True))
    assert body["instanceProperties"] == {"scheduling": {"provisioningModel": "SPOT"}}
    assert body["instanceFlexibilityPolicy"] == {
        "instanceSelections": {"launch": {"machineTypes": ["a3-highgpu-8g"]}}
    }
    assert body["size"] == 2
    standard = capacity.request_body(CapacityRequest("us-east4", "n1-standard-8+4xT4", 1, False))
    assert standard["instanceProperties"]["scheduling"]["provisioningModel"] == "STANDARD"
    assert standard["instanceFlexibilityPolicy"]["instanceSelections"]["launch"] == {
        "machineTypes": ["n1-standard-8"],
        "guestAccelerators": [{"acceleratorType": "nvidia-tesla-t4", "acceleratorCount": 4}],
    }


def test_zone_names_and_scores_are_checked():
    assert capacity.zone_name("https://x/compute/v1/projects/p/zones/us-east4-a") == "us-east4-a"
    assert capacity.zone_name("zones/US EAST") == ""
    assert [capacity.score_of(v) for v in (0.3, 1, 1.2, -0.1, True, "0.5")] == [
        0.3,
        1.0,
        None,
        None,
        None,
        None,
    ]


def test_not_offered_is_told_from_a_network_failure():
    said = "p/us-east1/capacity advice: capacity advice is not offered here (HTTP 404)"
    assert capacity.not_offered("not_offered", said)
    assert not capacity.not_offered("unavailable", "p/us-east1: cannot reach 127.0.0.1:9")


LAUNCH = Launch("big", parse_shape("a3-highgpu-8g"), 2, "compute", "spot")
NOW = cache.parse_time("2026-12-01T10:00:00+00:00")


def entry(**fields):
    base = {
        "launch": "big",
        "region": "us-east4",
        "machine_type": "a3-highgpu-8g",
        "count": 2,
        "spot": True,
        "score": 0.82,
        "uptime_s": 36000.0,
        "zones": ["us-east4-a"],
        "fetched_at": "2026-12-01T09:59:00+00:00",
        "status": "ok",
        "error": None,
    }
    return {**base, **fields}


def snapshot(capacity_list, extras=()):
    body = {"checks": [], "capacity": capacity_list, "extras": list(extras)}
    return cache.Snapshot({"projects": {"p": body}})


def test_the_cache_entries_a_reader_takes():
    snap = snapshot(
        [
            entry(),
            entry(region="us-west1", launch="other", score=0.1, zones=[]),  # same shape
            entry(region="us-central1", count=1),  # another count: another launch
            entry(region="asia-east1", launch="x", spot=False),  # standard, not Spot
            entry(region="europe-west4", score=7),  # not a score: no word
            "junk",
            {"region": 3, "status": "ok"},
        ],
        [{"key": "capacity:big:us-east1", "status": "unavailable"}, {"key": 5}],
    )
    found = read.for_launch(snap, "p", LAUNCH)
    assert sorted(found) == ["europe-west4", "us-east1", "us-east4", "us-west1"]
    assert found["us-east4"].text(1800, NOW) == "likely (0.82), zone us-east4-a"
    assert found["us-west1"].text(1800, NOW) == "unlikely (0.10)"
    assert found["us-east1"].text(1800, NOW) == "not offered"
    assert found["europe-west4"].text(1800, NOW) == ""
    assert found["us-east4"].as_json() == {
        "obtainability": 0.82,
        "chance": "likely",
        "uptime_s": 36000.0,
        "zones": ["us-east4-a"],
        "status": "ok",
        "fetched_at": "2026-12-01T09:59:00+00:00",
    }


def test_old_advice_says_its_age_and_a_failed_call_says_nothing():
    snap = snapshot(
        [
            entry(fetched_at="2026-12-01T08:00:00+00:00"),
            entry(region="x1", status="error", score=None),
        ]
    )
    found = read.for_launch(snap, "p", LAUNCH)
    assert (
        found["us-east4"].text(1800, NOW) == "likely (0.82), zone us-east4-a, advice from 2.0 h ago"
    )
    assert found["x1"].text(1800, NOW) == ""


@pytest.mark.parametrize("junk", [None, 5, "x", {"a": 1}])
def test_a_file_without_the_lists_or_with_junk(junk):
    doc = {"projects": {"p": {"checks": []}}}
    assert read.for_launch(cache.Snapshot(doc), "p", LAUNCH) == {}
    doc["projects"]["p"].update(capacity=junk, extras=junk)
    assert read.for_launch(cache.Snapshot(doc), "p", LAUNCH) == {}
