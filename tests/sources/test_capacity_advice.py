"""Compute's capacity advice through the real google-cloud-compute AdviceClient (REST) against
the emulator over loopback: what each part of the request does to the answer, the zones of the
shards, the estimated uptime, a region where advice is not offered, the refusals, and the same
through the fetcher process."""

from __future__ import annotations

import pytest
from emulator_fixtures import *  # noqa: F403

from trayapp.emulator import advice as served
from trayapp.sources import capacity
from trayapp.sources.base import SourceError
from trayapp.sources.capacity import CapacityAnswer, CapacityRequest
from trayapp.sources.compute_advice import ComputeAdviceSource
from trayapp.sources.fetcher.source import HelperSource
from trayapp.sources.recipe import SourceRecipe

A3 = "a3-highgpu-8g"


def ask(url: str, request: CapacityRequest, project: str = "proj-a") -> CapacityAnswer:
    source = ComputeAdviceSource(url, timeout_s=5.0)
    try:
        return source.fetch_capacity(project, request)
    finally:
        source.close()


def refusal(url: str, request: CapacityRequest) -> SourceError:
    with pytest.raises(SourceError) as info:
        ask(url, request)
    assert "\n" not in str(info.value) and len(str(info.value)) < 400
    return info.value


def advice_requests(emulator) -> list:
    return [r for r in emulator.requests() if r.path.endswith("/advice/capacity")]


def test_the_answer_follows_region_shape_count_and_model(emulator) -> None:
    # values written out from the emulator's table: us-central1 0.82, GPU shapes x0.95,
    # / (1 + 0.1 (count - 1)), Spot +0.08; estimated uptime (4 + 20 score) h for Spot only
    one = ask(emulator.url, CapacityRequest("us-central1", A3, 1, False))
    assert one == CapacityAnswer(0.78, None, ("us-central1-a",))
    two = ask(emulator.url, CapacityRequest("us-central1", A3, 2, False))
    assert two == CapacityAnswer(0.71, None, ("us-central1-a", "us-central1-b"))
    spot = ask(emulator.url, CapacityRequest("us-central1", A3, 2, True))
    assert spot == CapacityAnswer(0.79, (4 + 20 * 0.79) * 3600, ("us-central1-a", "us-central1-b"))
    plain = ask(emulator.url, CapacityRequest("us-central1", "c3-standard-88", 1, False))
    assert plain.score == 0.82
    t4 = ask(emulator.url, CapacityRequest("us-central1", "n1-standard-8+4xT4", 1, False))
    assert t4.score == 0.78  # the attached GPUs reached it: scored as a GPU shape
    west = ask(emulator.url, CapacityRequest("us-west1", A3, 1, False))
    assert west == CapacityAnswer(0.11, None, ("us-west1-c",))
    assert capacity.likely(two.score) and not capacity.likely(west.score)
    # one HTTP POST per call, to the path Google documents
    asked = advice_requests(emulator)
    assert [r.method for r in asked] == ["POST"] * 6
    assert asked[0].path == "/compute/v1/projects/proj-a/regions/us-central1/advice/capacity"


def test_a_region_without_advice_is_not_offered_not_an_error(emulator) -> None:
    assert "us-east1" in served.NOT_OFFERED
    error = refusal(emulator.url, CapacityRequest("us-east1", A3, 1, False))
    assert error.kind == "not_offered"
    assert capacity.not_offered(error.kind, error.message)
    assert error.message.startswith("proj-a/us-east1/capacity advice: capacity advice is not")
    assert "http://" not in error.message  # the request's URL is not repeated


@pytest.mark.parametrize("status", [400, 404, 501])
def test_the_statuses_google_gives_where_it_is_not_offered(emulator, status) -> None:
    emulator.add_fault(f"{status}@advice")
    error = refusal(emulator.url, CapacityRequest("us-central1", A3, 1, False))
    assert (error.kind, capacity.not_offered(error.kind, error.message)) == ("not_offered", True)
    assert f"(HTTP {status})" in error.message


@pytest.mark.parametrize(
    ("fault", "kind"),
    [
        ("403@advice", "permission"),
        ("403:rateLimitExceeded@advice", "rate_limited"),
        ("429@advice", "rate_limited"),
        ("503@advice", "unavailable"),
        ("broken_body@advice", "bad_response"),
    ],
)
def test_refusals_keep_their_kind(emulator, fault, kind) -> None:
    emulator.add_fault(fault)
    error = refusal(emulator.url, CapacityRequest("us-central1", A3, 1, False))
    assert error.kind == kind
    assert not capacity.not_offered(error.kind, error.message)
    assert len(advice_requests(emulator)) == 1  # no retry of its own: the warmer owns them


def test_the_advice_fault_target_leaves_regions_get_alone(emulator, make_compute_source) -> None:
    emulator.add_fault("503@advice")
    assert make_compute_source(emulator.url).fetch("proj-a", "us-central1")
    emulator.clear_faults()
    emulator.add_fault("503@compute")  # every regions.get, and not advice
    assert ask(emulator.url, CapacityRequest("us-central1", A3, 1, False)).score == 0.78


def test_a_hung_advice_call_times_out(emulator) -> None:
    emulator.add_fault("hang@advice")
    source = ComputeAdviceSource(emulator.url, timeout_s=0.5)
    with pytest.raises(SourceError) as info:
        source.fetch_capacity("proj-a", CapacityRequest("us-central1", A3, 1, False))
    source.close()
    assert info.value.kind == "timeout"


def test_through_the_fetcher_process(emulator) -> None:
    source = HelperSource(SourceRecipe(emulator.url, timeout_s=10.0, prepare_compute=False))
    try:
        answer = source.fetch_capacity("proj-a", CapacityRequest("us-central1", A3, 2, True))
        assert answer == CapacityAnswer(
            0.79, (4 + 20 * 0.79) * 3600, ("us-central1-a", "us-central1-b")
        )
        assert isinstance(answer, CapacityAnswer)
        with pytest.raises(SourceError) as info:
            source.fetch_capacity("proj-a", CapacityRequest("us-east1", A3, 1, False))
        assert capacity.not_offered(info.value.kind, info.value.message)
        assert source.requests == 2
    finally:
        source.close()
