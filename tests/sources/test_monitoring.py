"""Quota usage through the real google-cloud-monitoring client, over gRPC, against the
emulator's Cloud Monitoring on loopback: the points, pages, refusals with their fixes, a hung
call, the quota project, and the way through GoogleSource and the fetcher process."""

from __future__ import annotations

import time

import pytest
from emulator_fixtures import *  # noqa: F403

from trayapp.sources.base import SourceError
from trayapp.sources.fetcher.source import HelperSource
from trayapp.sources.monitoring import MonitoringSource, monitoring_endpoint_for
from trayapp.sources.recipe import SourceRecipe
from trayapp.sources.usage import usage_for, usage_requests

pytestmark = pytest.mark.usefixtures("no_adc")
PROJECT = "proj-u"
VERTEX = "aiplatform.googleapis.com"
T4 = f"{VERTEX}/custom_model_training_nvidia_t4_gpus"
H100 = f"{VERTEX}/custom_model_training_nvidia_h100_gpus"
A100 = f"{VERTEX}/custom_model_training_nvidia_a100_gpus"
C3 = "cloudbuild.googleapis.com/concurrent_private_pool_c3_build_cpus"
VERTEX_ASK, BUILD_ASK = usage_requests(
    [
        {"service": "vertex", "quota_metric": T4, "concurrent": False},
        {"service": "cloudbuild", "quota_metric": C3, "concurrent": True},
    ]
)


@pytest.fixture
def make_source():
    made = []

    def make(url, **kwargs):
        source = MonitoringSource(url, timeout_s=kwargs.pop("timeout_s", 3.0), **kwargs)
        made.append(source)
        return source

    yield make
    for source in made:
        source.close()


def test_newest_point_per_location_and_none_where_nothing_was_written(emulator, make_source):
    points = make_source(emulator.monitoring_url).fetch_usage(PROJECT, VERTEX_ASK)
    now = time.time()
    t4 = usage_for("vertex", T4, "us-central1", {"region": "us-central1"}, points)
    assert (t4.value, t4.limit_name) == (12, "CustomModelTrainingT4GPUsPerProjectPerRegion")
    assert 170 < now - t4.at < 200  # the newest of its two points: 3 minutes old
    assert usage_for("vertex", H100, "us-central1", {}, points).value == 16  # all in use
    stale = usage_for("vertex", H100, "europe-west4", {}, points)
    assert (stale.value, round((now - stale.at) / 3600)) == (8, 2)
    assert usage_for("vertex", A100, "us-central1", {}, points) is None  # no point
    assert all(p.quota_metric.startswith(VERTEX) for p in points)


def test_cloud_builds_own_metric_for_the_default_origin_only(emulator, make_source):
    points = make_source(emulator.monitoring_url).fetch_usage(PROJECT, BUILD_ASK)
    assert [(p.location, p.quota_metric, p.value) for p in points] == [("us-central1", C3, 88)]


def test_every_page_is_read_and_counted(emulator, make_source):
    emulator.monitoring.page_limit = 1
    source = make_source(emulator.monitoring_url)
    points = source.fetch_usage(PROJECT, VERTEX_ASK)
    assert len(points) == 4
    assert source.requests == 4 == len(emulator.monitoring.billed)


@pytest.mark.parametrize(
    ("fault", "kind", "words"),
    [
        (
            "403:SERVICE_DISABLED@monitoring",
            "permission",
            f'"gcloud services enable monitoring.googleapis.com --project {PROJECT}"',
        ),
        (
            "403@monitoring",
            "permission",
            'monitoring.timeSeries.list on project proj-u: grant the role "Monitoring Viewer"',
        ),
        ("404@monitoring", "not_found", "HTTP 404"),
        ("429@monitoring", "rate_limited", "HTTP 429"),
    ],
)
def test_refusals_say_what_to_do(emulator, make_source, fault, kind, words):
    emulator.add_fault(f"{fault}#1")
    source = make_source(emulator.monitoring_url)
    with pytest.raises(SourceError) as caught:
        source.fetch_usage(PROJECT, VERTEX_ASK)
    assert caught.value.kind == kind
    assert words in caught.value.message
    assert source.fetch_usage(PROJECT, VERTEX_ASK)  # the fault used up: answered again


def test_a_hung_call_times_out_and_faults_aimed_elsewhere_miss(emulator, make_source):
    emulator.add_fault("hang@monitoring#1")
    emulator.add_fault("503@compute")  # every regions.get: not Monitoring
    source = make_source(emulator.monitoring_url, timeout_s=0.5)
    started = time.monotonic()
    with pytest.raises(SourceError) as caught:
        source.fetch_usage(PROJECT, VERTEX_ASK)
    assert time.monotonic() - started < 5
    assert caught.value.kind == "timeout"
    assert "no answer within 0.5 s" in caught.value.message
    emulator.faults.release_hangs()
    assert source.fetch_usage(PROJECT, VERTEX_ASK)


def test_every_request_names_its_quota_project(make_emulator, make_source):
    strict = make_emulator(require_quota_project=True)
    source = make_source(strict.monitoring_url, quota_project="billing-proj")
    source.fetch_usage(PROJECT, VERTEX_ASK)
    assert strict.monitoring.billed == ["billing-proj"]
    assert make_source(strict.monitoring_url).fetch_usage(PROJECT, BUILD_ASK)
    assert strict.monitoring.billed[-1] == PROJECT  # none configured: the project itself


def test_no_monitoring_endpoint_beside_the_emulator_sends_nothing_to_google(emulator):
    assert monitoring_endpoint_for(emulator.url, None) == ""
    assert monitoring_endpoint_for(None, None) == "https://monitoring.googleapis.com"
    source = SourceRecipe(emulator.url).build()
    with pytest.raises(SourceError, match="pass --monitoring-endpoint") as caught:
        source.fetch_usage(PROJECT, VERTEX_ASK)
    assert caught.value.kind == "unavailable"
    assert emulator.monitoring.billed == []
    source.close()


def test_through_the_fetcher_process(emulator):
    recipe = SourceRecipe(emulator.url, timeout_s=5.0, monitoring_endpoint=emulator.monitoring_url)
    helper = HelperSource(recipe)
    try:
        points = helper.fetch_usage(PROJECT, VERTEX_ASK)
        assert usage_for("vertex", T4, "us-central1", {}, points).value == 12
        assert helper.requests == 1
        emulator.add_fault("403:SERVICE_DISABLED@monitoring#1")
        with pytest.raises(SourceError, match="gcloud services enable monitoring"):
            helper.fetch_usage(PROJECT, VERTEX_ASK)
    finally:
        helper.close()


def test_the_quota_info_says_which_metric_carries_the_usage(emulator):
    from trayapp.sources import cloudbuild, vertex
    from trayapp.sources.cloudquotas import CloudQuotasSource

    quotas = CloudQuotasSource(emulator.url, timeout_s=3.0)
    try:
        answers = [
            quotas.fetch_quota(PROJECT, vertex.request("NVIDIA_T4_GPUS", False)),
            quotas.fetch_quota(PROJECT, cloudbuild.request()),
        ]
    finally:
        quotas.close()
    assert [a.concurrent for a in answers] == [False, True]  # isConcurrent, as served
    checks = [
        {
            "service": a.metric.partition("/")[0],
            "quota_metric": a.metric,
            "concurrent": a.concurrent,
        }
        for a in answers
    ]
    assert usage_requests(checks) == [VERTEX_ASK, BUILD_ASK]


def test_hostile_labels_are_cleaned_and_unreadable_values_dropped(emulator, make_source):
    from trayapp.emulator.monitoring import Series
    from trayapp.sources.usage import ALLOCATION_USAGE

    def series(location, value):
        labels = {"quota_metric": T4, "limit_name": "L\x1b[2J" + "x" * 500}
        resource = {"service": VERTEX, "location": location}
        return Series(ALLOCATION_USAGE, labels, "consumer_quota", resource, ((value, 60),))

    emulator.monitoring.series = (
        series("\x1b]0;owned\x07us-east1", 2.5),  # a double is read too
        series("us-west1", float("nan")),
        series("us-west2", -3.0),
    )
    [point] = make_source(emulator.monitoring_url).fetch_usage(PROJECT, VERTEX_ASK)
    assert point.value == 2.5
    assert "\x1b" not in point.location and "\x07" not in point.location
    assert "us-east1" in point.location
    assert len(point.limit_name) <= 200 and "\x1b" not in point.limit_name
