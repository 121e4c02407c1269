"""Which Monitoring request answers which limit-only check, and which point carries its usage
(sources/usage.py: plain logic, no network)."""

from __future__ import annotations

from trayapp.sources.usage import (
    ALLOCATION_USAGE,
    CONCURRENT_USAGE,
    WINDOW_S,
    UsagePoint,
    UsageRequest,
    newest,
    quota_metric_of,
    series_filter,
    usage_for,
    usage_requests,
)

VERTEX = "aiplatform.googleapis.com"
T4 = f"{VERTEX}/custom_model_training_nvidia_t4_gpus"
H100 = f"{VERTEX}/custom_model_training_nvidia_h100_gpus"
C3 = "cloudbuild.googleapis.com/concurrent_private_pool_c3_build_cpus"
C3_USAGE = "cloudbuild.googleapis.com/quota/concurrent_private_pool_c3_build_cpus/usage"


def test_one_request_per_service_and_metric_type():
    checks = [
        {"service": "vertex", "quota_metric": T4, "concurrent": False},
        {"service": "vertex", "quota_metric": H100, "concurrent": False},
        {"service": "cloudbuild", "quota_metric": C3, "concurrent": True},
        {"service": "compute", "quota_metric": ""},  # regions.get: usage already known
    ]
    assert usage_requests(checks) == [
        UsageRequest(VERTEX, ALLOCATION_USAGE, WINDOW_S),
        UsageRequest("cloudbuild.googleapis.com", C3_USAGE, WINDOW_S),
    ]
    assert WINDOW_S >= 25 * 3600  # a gauge re-reported only when it changes


def test_concurrent_quota_without_a_service_metric_reads_the_concurrent_gauge():
    class Check:  # objects serve as well as mappings
        service, quota_metric, concurrent = VERTEX, T4, True

    assert usage_requests([Check()]) == [UsageRequest(VERTEX, CONCURRENT_USAGE, WINDOW_S)]


def test_filters_name_the_metric_the_resource_and_the_service():
    vertex = series_filter(UsageRequest(VERTEX, ALLOCATION_USAGE, WINDOW_S))
    assert vertex == (
        f'metric.type = "{ALLOCATION_USAGE}" AND resource.type = "consumer_quota" '
        f'AND resource.labels.service = "{VERTEX}"'
    )
    build = series_filter(UsageRequest("cloudbuild.googleapis.com", C3_USAGE, WINDOW_S))
    assert build == f'metric.type = "{C3_USAGE}" AND metric.labels.build_origin = "default"'


def test_quota_metric_from_label_or_from_the_service_metric():
    assert quota_metric_of(UsageRequest(VERTEX, ALLOCATION_USAGE, 1), {"quota_metric": T4}) == T4
    assert quota_metric_of(UsageRequest("cloudbuild.googleapis.com", C3_USAGE, 1), {}) == C3


def point(location, metric, value, at, limit="L"):
    return UsagePoint(location, metric, limit, value, at)


def test_usage_for_picks_the_newest_point_of_the_check_in_its_region():
    points = [
        point("us-central1", T4, 4, 100.0),
        point("us-central1", T4, 12, 200.0, limit="other"),
        point("europe-west4", T4, 1, 300.0),
        point("us-central1", H100, 16, 400.0),
    ]
    assert usage_for("vertex", T4, "us-central1", {"region": "us-central1"}, points).value == 12
    assert usage_for("vertex", T4, "us-west1", {}, points) is None  # no point: unknown
    assert usage_for("vertex", "x/other", "us-central1", {}, points) is None


def test_usage_for_refuses_dimensions_points_do_not_tell_apart():
    family = "compute.googleapis.com/gpus_per_gpu_family"
    points = [point("us-central1", family, 8, 1.0)]
    wanted = {"region": "us-central1", "gpu_family": "NVIDIA_H100"}
    assert usage_for("compute", family, "us-central1", wanted, points) is None
    build = [point("us-central1", C3, 88, 1.0)]
    default = {"region": "us-central1", "build_origin": "default"}
    assert usage_for("cloudbuild", C3, "us-central1", default, build).value == 88
    trigger = {"build_origin": "trigger"}
    assert usage_for("cloudbuild", C3, "us-central1", trigger, build) is None


def test_newest_keeps_one_point_per_location_metric_and_limit():
    kept = newest([point("a", T4, 1, 10.0), point("a", T4, 2, 20.0), point("b", T4, 3, 5.0)])
    assert [(p.location, p.value) for p in kept] == [("a", 2), ("b", 3)]
