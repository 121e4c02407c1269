"""The emulator's Cloud Quotas side as plain HTTP: QuotaInfos by ID and by paged list per
service, and faults and latency aimed at one service."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request

import pytest

from trayapp.emulator.faults import Latency

BASE = "/v1/projects/p/locations/global/services"


def get(emulator, path):
    try:
        with urllib.request.urlopen(f"{emulator.url}{path}", timeout=10) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def every_page(emulator, service, size=None):
    pages, token = [], None
    while True:
        query = "&".join(
            f"{k}={v}" for k, v in (("pageSize", size), ("pageToken", token)) if v is not None
        )
        status, body = get(emulator, f"{BASE}/{service}/quotaInfos?{query}")
        assert status == 200, body
        pages.append(body["quotaInfos"])
        token = body.get("nextPageToken")
        if not token:
            return pages


def test_lists_are_paged_with_decoys_before_the_quota_a_check_reads(make_emulator):
    emulator = make_emulator()
    pages = every_page(emulator, "cloudbuild.googleapis.com")
    assert len(pages) == 2 and all(len(page) <= 3 for page in pages)
    metrics = [info["metric"].rpartition("/")[2] for page in pages for info in page]
    assert metrics[-1] == "concurrent_private_pool_c3_build_cpus"
    assert "concurrent_private_pool_build_cpus" in metrics  # the all-family decoy
    c3 = pages[-1][-1]
    origins = {e.get("dimensions", {}).get("build_origin") for e in c3["dimensionsInfos"]}
    assert {"default", "trigger"} <= origins  # a decoy origin
    assert any(e["details"]["value"] == "-1" for e in c3["dimensionsInfos"])  # unlimited
    catch_all = next(e for e in c3["dimensionsInfos"] if "dimensions" not in e)
    assert "southamerica-east1" not in catch_all["applicableLocations"]
    # three a page whatever is asked ("Server may return fewer items than requested")
    assert all(len(page) <= 3 for page in every_page(emulator, "aiplatform.googleapis.com", 100))
    whole = every_page(make_emulator(page_limit=None), "aiplatform.googleapis.com", size=100)
    assert len(whole) == 1
    assert any("custom_model_serving" in i["metric"] for i in whole[0])  # decoys
    assert get(emulator, f"{BASE}/x.googleapis.com/quotaInfos?pageSize=0")[0] == 400


def test_list_faults_repeat_a_token_or_never_end(make_emulator):
    emulator = make_emulator(faults=["repeat_token@cloudbuild"])
    list_path = f"{BASE}/cloudbuild.googleapis.com/quotaInfos"
    first, again = get(emulator, list_path)[1], get(emulator, f"{list_path}?pageToken=0")[1]
    assert first["nextPageToken"] == again["nextPageToken"] == "0"
    assert first["quotaInfos"] == again["quotaInfos"]
    emulator = make_emulator(faults=["endless_pages@cloudbuild"])
    token = ""
    for _ in range(6):  # past the end of a list of five
        status, body = get(emulator, f"{list_path}?pageToken={token}")
        assert status == 200 and body["nextPageToken"] != token
        token = body["nextPageToken"]
    assert body["quotaInfos"] == []
    assert emulator.received == 6  # each request counted once, as received
    status, _ = get(emulator, f"{BASE}/cloudbuild.googleapis.com/quotaInfos/ConcurrentBuilds")
    assert status == 200  # a QuotaInfo by ID is served as usual


def test_vertex_ids_are_served_by_id_and_others_are_404(make_emulator):
    emulator = make_emulator()
    status, body = get(
        emulator,
        f"{BASE}/aiplatform.googleapis.com/quotaInfos/"
        "CustomModelTrainingPreemptibleT4GPUsPerProjectPerRegion",
    )
    assert status == 200 and body["metric"].endswith(
        "custom_model_training_preemptible_nvidia_t4_gpus"
    )
    status, body = get(
        emulator, f"{BASE}/cloudbuild.googleapis.com/quotaInfos/ConcurrentPrivatePoolC3"
    )
    assert status == 404 and body["error"]["status"] == "NOT_FOUND"


@pytest.mark.parametrize(
    ("fault", "hit", "spared"),
    [
        ("403:SERVICE_DISABLED@aiplatform", "aiplatform", "cloudbuild"),
        ("503@cloudbuild", "cloudbuild", "aiplatform"),
        ("403@cloudbuild", "cloudbuild", "compute"),
    ],
)
def test_faults_hit_one_service(make_emulator, fault, hit, spared):
    emulator = make_emulator(faults=[fault])
    services = {s: f"{s}.googleapis.com" for s in ("aiplatform", "cloudbuild", "compute")}
    status, body = get(emulator, f"{BASE}/{services[hit]}/quotaInfos")
    assert status == int(fault[:3])
    if "SERVICE_DISABLED" in fault:
        assert body["error"]["details"][0]["reason"] == "SERVICE_DISABLED"
    assert get(emulator, f"{BASE}/{services[spared]}/quotaInfos")[0] == 200


def test_latency_aimed_at_one_service(make_emulator):
    emulator = make_emulator(latency=Latency(ms=0, per_region={"aiplatform": 400}))
    started = time.monotonic()
    get(emulator, f"{BASE}/cloudbuild.googleapis.com/quotaInfos")
    fast = time.monotonic() - started
    started = time.monotonic()
    get(emulator, f"{BASE}/aiplatform.googleapis.com/quotaInfos")
    slow = time.monotonic() - started
    assert slow >= 0.4 > fast
