"""Vertex AI training and Cloud Build private pool quota through the real google-cloud-quotas
client against the emulator over HTTP: both tiers' IDs, the 404 fallback to the paged list,
precedence and applicableLocations, unlimited, decoys, and the failures a person must mend.

Expected values are written out by hand from the emulator's table (``quota_data``), not
computed with the rule under test."""

from __future__ import annotations

import pytest

from trayapp.sources import cloudbuild, compute_family, vertex
from trayapp.sources.base import SourceError
from trayapp.sources.cloudquotas import CloudQuotasSource
from trayapp.sources.quota_rule import UNLIMITED, resolve

PROJECT = "proj-q"
BASE = f"/v1/projects/{PROJECT}/locations/global/services"


@pytest.fixture
def emulator(make_emulator):
    return make_emulator()


@pytest.fixture
def source(emulator):
    made = CloudQuotasSource(emulator.url, timeout_s=3.0)
    yield made
    made.close()


def paths(emulator):
    return [r.path.partition("?")[0] for r in emulator.requests()]


def tokens(emulator):
    return [r.path for r in emulator.requests() if "pageToken=" in r.path]


@pytest.mark.parametrize(
    ("spot", "quota_id", "metric", "limits"),
    [
        (
            False,
            "CustomModelTrainingT4GPUsPerProjectPerRegion",
            "aiplatform.googleapis.com/custom_model_training_nvidia_t4_gpus",
            (16.0, 4.0),
        ),
        (
            True,
            "CustomModelTrainingPreemptibleT4GPUsPerProjectPerRegion",
            "aiplatform.googleapis.com/custom_model_training_preemptible_nvidia_t4_gpus",
            (32.0, 8.0),
        ),
    ],
)
def test_vertex_reads_each_tier_by_its_id(emulator, source, spot, quota_id, metric, *, limits):
    answer = source.fetch_quota(PROJECT, vertex.request("NVIDIA_T4_GPUS", spot))
    assert (answer.quota_id, answer.metric) == (quota_id, metric)
    assert paths(emulator) == [f"{BASE}/aiplatform.googleapis.com/quotaInfos/{quota_id}"]
    central, east = limits
    assert resolve(answer.entries, "us-central1") == central  # the region entry
    assert resolve(answer.entries, "us-east1") == east  # the catch-all


def test_an_id_not_served_falls_back_once_to_every_page_of_the_list(emulator, source):
    answer = source.fetch_quota(PROJECT, vertex.request("NVIDIA_H100_MEGA_GPUS", False))
    assert answer.quota_id == "CustomModelTrainingH100MegaGPUsPerProjectPerRegion"
    assert answer.metric == "aiplatform.googleapis.com/custom_model_training_nvidia_h100_mega_gpus"
    asked = paths(emulator)
    assert asked[0].endswith("/quotaInfos/CustomModelTrainingH100MEGAGPUsPerProjectPerRegion")
    assert set(asked[1:]) == {f"{BASE}/aiplatform.googleapis.com/quotaInfos"}
    assert len(tokens(emulator)) >= 2  # the answer was on a later page
    assert resolve(answer.entries, "us-central1") == 8.0
    assert resolve(answer.entries, "us-east1") is None  # not offered there


def test_a_quota_neither_by_id_nor_in_the_list_is_none(emulator, source):
    assert source.fetch_quota(PROJECT, vertex.request("NVIDIA_B200_GPUS", True)) is None
    assert source.fetch_quota(PROJECT, vertex.request("NVIDIA_B200_GPUS", False)) is not None


def test_vertex_applicable_locations_and_unlimited(source):
    h200 = source.fetch_quota(PROJECT, vertex.request("NVIDIA_H200_GPUS", True))
    assert [resolve(h200.entries, r) for r in ("us-central1", "us-east1", "us-west1")] == [
        32.0,
        None,  # the catch-all lists where it applies: not in us-east1 or us-west1
        None,
    ]
    assert resolve(h200.entries, "europe-west4") == 16.0
    l4 = source.fetch_quota(PROJECT, vertex.request("NVIDIA_L4_GPUS", False))
    assert resolve(l4.entries, "us-east1") == UNLIMITED
    assert resolve(l4.entries, "us-west1") == 8.0


CLOUD_BUILD = {
    "us-central1": 176.0,  # region + build_origin=default beats region alone (88)
    "europe-west4": 176.0,  # region alone beats build_origin=default alone (44)
    "us-east4": 44.0,  # its region entry is for another origin: default alone counts
    "us-west2": UNLIMITED,
    "asia-northeast1": 8.0,
    "us-east1": 44.0,  # build_origin=default beats the catch-all (24) and the decoy origin
    "southamerica-east1": None,  # no entry applies there: not offered
}


def test_cloud_build_follows_every_page_and_the_precedence(emulator, source):
    answer = source.fetch_quota(PROJECT, cloudbuild.request())
    assert answer.metric == "cloudbuild.googleapis.com/concurrent_private_pool_c3_build_cpus"
    assert set(paths(emulator)) == {f"{BASE}/cloudbuild.googleapis.com/quotaInfos"}
    assert len(tokens(emulator)) >= 1  # the C3 quota is after the decoys, on a later page
    got = {r: resolve(answer.entries, r, cloudbuild.WANTED) for r in CLOUD_BUILD}
    assert got == CLOUD_BUILD


def test_compute_spot_family_is_found_by_metric(emulator, source):
    answer = source.fetch_quota(PROJECT, compute_family.request(spot=True))
    assert answer.metric == "compute.googleapis.com/preemptible_gpus_per_gpu_family"
    assert paths(emulator) == [f"{BASE}/compute.googleapis.com/quotaInfos"]
    assert compute_family.resolve(answer.entries, "us-central1", "NVIDIA_H200") == 32.0
    assert compute_family.resolve(answer.entries, "us-west1", "NVIDIA_H200") is None


@pytest.mark.parametrize(
    ("fault", "kind", "words"),
    [
        (
            "403:SERVICE_DISABLED@aiplatform",
            "permission",
            "gcloud services enable cloudquotas.googleapis.com --project proj-q",
        ),
        ("403@aiplatform", "permission", "roles/cloudquotas.viewer"),
        ("503@aiplatform", "unavailable", "HTTP 503"),
    ],
)
def test_failures_say_what_to_do(emulator, source, fault, kind, words):
    emulator.add_fault(fault)
    with pytest.raises(SourceError) as caught:
        source.fetch_quota(PROJECT, vertex.request("NVIDIA_T4_GPUS", True))
    assert caught.value.kind == kind
    assert words in caught.value.message
    if kind == "permission":
        assert "Vertex AI training GPU quota" in caught.value.message


def test_a_list_the_endpoint_does_not_serve_is_an_error_not_none(make_emulator):
    emulator = make_emulator(faults=["404@cloudbuild"])
    made = CloudQuotasSource(emulator.url, timeout_s=3.0)
    try:
        with pytest.raises(SourceError) as caught:
            made.fetch_quota(PROJECT, cloudbuild.request())
    finally:
        made.close()
    assert caught.value.kind == "not_found"
    assert "check --quotas-endpoint" in caught.value.message
