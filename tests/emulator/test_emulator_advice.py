"""The emulator's advice.capacity over plain HTTP, as any client sees it: a POST with a
CapacityAdviceRequest body answered with one recommendation whose score, uptime and shards
follow the request, Google's error document for what it refuses, and its fault target."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest
from emulator_fixtures import *  # noqa: F403

from trayapp.emulator import advice
from trayapp.emulator.faults import parse_fault
from trayapp.emulator.server import FAULT_TARGETS, KNOWN_REGIONS
from trayapp.sources.capacity import CapacityRequest, request_body


def post(url, body, method="POST"):
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=5) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def path(emulator, region, project="proj-a"):
    return f"{emulator.url}/compute/v1/projects/{project}/regions/{region}/advice/capacity"


def body(region="us-central1", machine="a3-highgpu-8g", count=1, spot=False):
    return request_body(CapacityRequest(region, machine, count, spot))


def test_some_regions_likely_some_not_and_one_not_offered():
    scores = {r: advice.score(r, "a3-highgpu-8g", 1, False) for r in KNOWN_REGIONS}
    assert any(s >= 0.5 for s in scores.values()) and any(s < 0.5 for s in scores.values())
    assert set(advice.NOT_OFFERED) <= set(KNOWN_REGIONS) and len(advice.NOT_OFFERED) == 1


def test_the_answer_is_a_function_of_the_request(emulator):
    status, answer = post(path(emulator, "us-central1"), body(count=3, spot=True))
    assert status == 200
    [recommendation] = answer["recommendations"]
    got = round(0.82 * 0.95 / 1.2 + 0.08, 2)
    assert recommendation["scores"] == {
        "obtainability": got,
        "estimatedUptime": f"{int((4 + 20 * got) * 3600)}s",
    }
    shards = recommendation["shards"]
    assert [(s["zone"], s["instanceCount"]) for s in shards] == [
        ("us-central1-a", 2),
        ("us-central1-b", 1),
    ]
    assert {s["machineType"] for s in shards} == {"a3-highgpu-8g"}
    assert {s["provisioningModel"] for s in shards} == {"SPOT"}
    _, standard = post(path(emulator, "us-central1"), body(count=3))
    assert "estimatedUptime" not in standard["recommendations"][0]["scores"]  # Spot only
    _, unlikely = post(path(emulator, "us-west1"), body(count=3))
    [shard] = unlikely["recommendations"][0]["shards"]
    assert (shard["zone"], shard["instanceCount"]) == ("us-west1-c", 3)


@pytest.mark.parametrize(
    ("region", "sent", "status"),
    [
        ("us-east1", body("us-east1"), 404),  # not offered there
        ("xx-nowhere1", body(), 404),
        ("us-central1", {**body(), "size": 0}, 400),
        ("us-central1", b"{not json", 400),
        ("us-central1", {"size": 1}, 400),
        (
            "us-central1",
            {**body(), "instanceProperties": {"scheduling": {"provisioningModel": "X"}}},
            400,
        ),
    ],
)
def test_what_it_refuses(emulator, region, sent, status):
    code, answer = post(path(emulator, region), sent)
    assert code == status
    assert answer["error"]["code"] == status and answer["error"]["message"]


def test_only_post_is_served(emulator):
    assert post(path(emulator, "us-central1"), b"", method="GET")[0] == 405
    assert post(path(emulator, "us-central1"), body(), method="PUT")[0] == 405


def test_its_fault_target(emulator):
    assert "advice" in FAULT_TARGETS
    assert parse_fault("501@advice", FAULT_TARGETS).region == "advice"
    emulator.add_fault("501:notImplemented@advice#1")
    code, answer = post(path(emulator, "us-central1"), body())
    assert (code, answer["error"]["errors"][0]["reason"]) == (501, "notImplemented")
    assert post(path(emulator, "us-central1"), body())[0] == 200  # the count is used up
    [first, _] = [r for r in emulator.requests() if r.path.endswith("/advice/capacity")]
    assert (first.project, first.region, first.status) == ("proj-a", "advice", 501)
