"""The Cloud Quotas list through the real google-cloud-quotas client against the emulator: it
asks for pages of a set size, and a server that repeats a page token or never ends the list
fails that one call in one line, within a bounded number of requests, while every other call
keeps its answers. Requests are counted the way the server counts them."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from fakes import Recorder

from trayapp import cache
from trayapp.sources import cloudbuild, vertex
from trayapp.sources.base import SourceError
from trayapp.sources.cloudquotas import MAX_PAGES, PAGE_SIZE, CloudQuotasSource
from trayapp.sources.google import GoogleSource
from trayapp.warming.events import EventBus, WarmEvent
from trayapp.warming.plan import build_plan
from trayapp.warming.scheduler import Warmer

PROJECT = "proj-pages"
DESIGN = {"gpu_service": "vertex", "spot": True, "c3_service": "cloudbuild"}


@pytest.fixture
def source_for():
    made: list[CloudQuotasSource] = []

    def make(emulator: Any) -> CloudQuotasSource:
        made.append(CloudQuotasSource(emulator.url, timeout_s=3.0))
        return made[-1]

    yield make
    for source in made:
        source.close()


def within(seconds: float, call: Callable[[], Any], on_late: Callable[[], None]) -> Any:
    """``call()``'s result or exception; a call still running after ``seconds`` fails the
    test (``on_late`` then lets it end, so nothing keeps running after the test)."""
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["value"] = call()
        except BaseException as exc:
            outcome["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        on_late()
        thread.join(30)
        pytest.fail(f"the list was still being read after {seconds:g} s")
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("value")


def test_the_list_asks_for_pages_of_its_own_size(make_emulator, source_for):
    emulator = make_emulator(page_limit=None)  # the server sends as many as asked
    source = source_for(emulator)
    answer = source.fetch_quota(PROJECT, cloudbuild.request())
    assert answer is not None and answer.metric == cloudbuild.METRIC
    asked = [urlsplit(r.path) for r in emulator.requests()]
    assert [a.path for a in asked] == [
        f"/v1/projects/{PROJECT}/locations/global/services/cloudbuild.googleapis.com/quotaInfos"
    ]
    assert parse_qs(asked[0].query)["pageSize"] == [str(PAGE_SIZE)]
    assert source.requests == emulator.received == 1


def test_a_list_of_two_pages_is_two_requests(make_emulator, source_for):
    emulator = make_emulator()  # three QuotaInfos a page whatever is asked: the list has two
    source = source_for(emulator)
    assert source.fetch_quota(PROJECT, cloudbuild.request()) is not None
    assert emulator.received == 2 and source.requests == 2


def test_an_id_not_served_counts_its_404_and_every_page(make_emulator, source_for):
    emulator = make_emulator()
    source = source_for(emulator)
    answer = source.fetch_quota(PROJECT, vertex.request("NVIDIA_H100_MEGA_GPUS", False))
    assert answer is not None
    assert source.requests == emulator.received >= 3  # the 404, then two pages or more


B200_SPOT = vertex.request("NVIDIA_B200_GPUS", True)  # no such ID: the list, to its end


@pytest.mark.parametrize(
    ("fault", "asked", "requests", "words"),
    [
        (
            "repeat_token@cloudbuild",
            cloudbuild.request(),
            2,
            "the Cloud Quotas list repeated a page token after 2 pages: "
            "Cloud Build private pool quota is unknown",
        ),
        (
            "endless_pages@aiplatform",
            B200_SPOT,
            1 + MAX_PAGES,  # the 404 of the ID, then the list
            f"the Cloud Quotas list did not end within {MAX_PAGES} pages: "
            "Vertex AI training GPU quota is unknown",
        ),
    ],
)
def test_a_list_that_would_run_away_fails_the_call_in_one_line(
    make_emulator, source_for, fault, asked, *, requests, words
):
    emulator = make_emulator(faults=[fault])
    source = source_for(emulator)
    with pytest.raises(SourceError) as caught:
        within(20, lambda: source.fetch_quota(PROJECT, asked), emulator.stop)
    error = caught.value
    assert error.kind == "bad_response"  # this call fails: nothing to mend, asked again later
    assert words in error.message and "\n" not in error.message
    assert emulator.received == requests == source.requests


def test_a_runaway_list_fails_only_the_checks_it_answers(make_emulator, tmp_path):
    emulator = make_emulator(faults=["repeat_token@cloudbuild"])
    bus, rec = EventBus(), Recorder()
    bus.subscribe(cache.CacheWriter(tmp_path / cache.FILENAME))
    bus.subscribe(rec)
    source = GoogleSource(emulator.url, emulator.url, timeout_s=2.0, prepare_compute=False)
    plan = build_plan([PROJECT], **DESIGN)
    warmer = Warmer(plan, source, bus, interval_s=0.02, backoff_ticks=0, retry_first_s=1e9)
    warmer.start()
    try:
        events = rec.wait_for(
            lambda evs: any(e.kind is WarmEvent.INCOMPLETE for e in evs), timeout=60
        )
    finally:
        warmer.stop()
    checks = cache.load(tmp_path / cache.FILENAME).checks(PROJECT)
    c3 = [c for c in checks if c["kind"] == "c3"]
    gpu = [c for c in checks if c["kind"] == "gpu"]
    assert c3 and all(c["status"] == "error" for c in c3)
    assert all("repeated a page token" in c["error"] for c in c3)
    assert gpu and all(c["status"] in ("ok", "absent") for c in gpu)  # Vertex AI answered
    # three attempts of a two-page list, and one request per GPU type: no request unseen
    end = next(e for e in events if e.kind is WarmEvent.INCOMPLETE)
    assert end.data["api_calls"] == emulator.received == 3 * 2 + 5
