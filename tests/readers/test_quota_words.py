"""The same words for which quota, unlimited and unknown on every reader: notifications,
the terminal view, the Quotas lines, show's console link."""

from __future__ import annotations

from tui_docs import doc

from trayapp import answers, cache
from trayapp.sources import quota_names
from trayapp.tui import model

NOW = "2026-11-24T10:00:00.000+00:00"


def entry(region, metric, limit, *, service="vertex", tier="spot", kind="gpu", **extra):
    return {
        "kind": kind,
        "region": region,
        "metric": metric,
        "status": "ok",
        "limit": limit,
        "usage": None,
        "fetched_at": NOW,
        "error": None,
        "source": "cloudquotas",
        "service": service,
        "tier": tier,
        **extra,
    }


CHECKS = [
    entry("us-central1", "NVIDIA_H100_GPUS", 8.0),
    entry("europe-west4", "NVIDIA_H100_GPUS", 24.0),
    entry("us-east1", "NVIDIA_L4_GPUS", None, unlimited=True),
    entry("us-central1", "C3_CPUS", 176.0, service="cloudbuild", tier="on-demand", kind="c3"),
]


def test_a_notification_names_gpu_tier_and_service():
    assert answers.best_sentence("NVIDIA_H100_GPUS", CHECKS) == (
        "H100 Spot, Vertex AI training: ≤ 24 free in europe-west4"
    )
    assert answers.best_sentence("NVIDIA_L4_GPUS", CHECKS) == (
        "L4 Spot, Vertex AI training: unlimited free in us-east1"
    )
    assert answers.best_sentence("C3_CPUS", CHECKS).startswith("C3, Cloud Build private pools: ")
    plain = [{**CHECKS[0], "service": "compute", "tier": "on-demand"}]
    assert answers.best_sentence("NVIDIA_H100_GPUS", plain) == "H100: ≤ 8 free in us-central1"


def test_the_terminal_view_names_the_quota_and_says_unlimited():
    snap = cache.Snapshot(doc(CHECKS))
    cells = {r.key: r.cells for r in model.rows(snap, "p", now=0.0, max_age_s=1e12)}
    assert cells["us-central1/NVIDIA_H100_GPUS"][1] == "H100 Spot, Vertex AI training"
    assert cells["us-east1/NVIDIA_L4_GPUS"][2] == "unlimited"
    assert cells["us-east1/NVIDIA_L4_GPUS"][4] == "unlimited"
    assert cells["us-central1/C3_CPUS"][1] == "C3, Cloud Build private pools"


def test_console_link_and_pool_sizes():
    url = quota_names.request_url("my proj", CHECKS[0])
    assert url == (
        "https://console.cloud.google.com/iam-admin/quotas?project=my%20proj"
        "&service=aiplatform.googleapis.com&location=us-central1"
    )  # no quota_metric in the entry: service and region only
    compute = {"kind": "gpu", "metric": "NVIDIA_T4_GPUS", "region": "us-west1", "tier": "spot"}
    assert "metric=compute.googleapis.com%2Fpreemptible_nvidia_t4_gpus" in (
        quota_names.request_url("p", compute)
    )
    assert [quota_names.largest_pool(n) for n in (3, 4, 21, 22, 175, 176, 1000)] == [
        None,
        4,
        8,
        22,
        88,
        176,
        176,
    ]
    c3 = CHECKS[3]
    assert quota_names.pool_text(c3, 100.0) == "c3-standard-88"
    assert quota_names.pool_text(c3, 2.0) == "no C3 pool"
    assert quota_names.pool_text(CHECKS[0], 100.0) == ""  # a GPU check has no pool
