"""The shared reading of the cache: FREE, short names, filters, best regions."""

from __future__ import annotations

from trayapp import answers


def check(region, metric, status="ok", limit=8.0, usage=2.0, error=None):  # noqa: PLR0917
    return {
        "kind": "gpu",
        "region": region,
        "metric": metric,
        "status": status,
        "limit": limit,
        "usage": usage,
        "fetched_at": "2026-11-24T10:00:00.000+00:00",
        "error": error,
    }


def test_short_names_and_matching():
    assert answers.short_name("NVIDIA_H100_GPUS") == "H100"
    assert answers.short_name("NVIDIA_A100_80GB_GPUS") == "A100_80GB"
    assert answers.short_name("C3_CPUS") == "C3"
    assert answers.metric_matches("NVIDIA_H100_GPUS", "h100")
    assert answers.metric_matches("NVIDIA_H100_GPUS", "nvidia_h100_gpus")
    assert not answers.metric_matches("NVIDIA_H100_MEGA_GPUS", "H100")
    assert answers.metric_matches("NVIDIA_H100_MEGA_GPUS", "h100-mega")


def test_free_is_never_a_zero_for_what_is_not_known():
    assert answers.free(check("r", "M")) == 6.0
    assert answers.free(check("r", "M", "absent", 0.0, 0.0)) is None
    assert answers.free(check("r", "M", "error", None, None, "boom")) is None
    family = check("r", "M", usage=None)
    assert answers.free(family) is None
    assert answers.format_free(family) == "≤ 8"
    assert answers.format_free(check("r", "M", "absent", 0.0, 0.0)) == "-"
    assert answers.status_text(check("r", "M", "absent", 0.0, 0.0)) == "not reported"
    assert answers.status_text(check("r", "M", "error", None, None, "HTTP 404")) == (
        "error: HTTP 404"
    )


def test_select_filters_and_orders_by_free():
    rows = [
        check("us-east1", "NVIDIA_H100_GPUS", limit=4.0, usage=0.0),
        check("us-west1", "NVIDIA_H100_GPUS", limit=16.0, usage=8.0),
        check("europe-west4", "NVIDIA_H100_GPUS", limit=8.0, usage=None),
        check("us-west1", "NVIDIA_T4_GPUS", limit=100.0, usage=0.0),
        check("us-central1", "NVIDIA_H100_GPUS", "absent", 0.0, 0.0),
    ]
    got = answers.select(rows, metrics=["H100"], min_free=8)
    assert [r["region"] for r in got] == ["us-west1", "europe-west4"]
    assert [r["region"] for r in answers.select(rows, regions=["US-WEST1"])] == [
        "us-west1",
        "us-west1",
    ]
    assert answers.select(rows, metrics=["B200"]) == []


def test_best_regions_and_not_reported():
    rows = [
        check("us-east1", "NVIDIA_H100_GPUS", limit=4.0, usage=0.0),
        check("us-west1", "NVIDIA_H100_GPUS", limit=16.0, usage=8.0),
        check("us-west1", "NVIDIA_H200_GPUS", "absent", 0.0, 0.0),
    ]
    best = answers.best_regions(rows, top=1)
    assert best == {"NVIDIA_H100_GPUS": [("us-west1", 8.0, True)], "NVIDIA_H200_GPUS": []}
    assert not answers.reported_anywhere(rows, "NVIDIA_H200_GPUS")


def test_ago():
    assert answers.ago(None) == "never"
    assert answers.ago(30) == "30 s ago"
    assert answers.ago(240) == "4 min ago"
