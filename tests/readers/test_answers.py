"""The shared reading of the cache: FREE, short names, filters, best regions."""

from __future__ import annotations

from trayapp import answers


def check(region, metric, status="ok", limit=8.0, usage=2.0, error=None):  # noqa: PLR0917
    """A check as the warmer writes it: a usage only from regions.get (source compute); a
    limit without usage from the GPU family quota (source cloudquotas)."""
    source = {"ok": "compute" if usage is not None else "cloudquotas", "absent": "compute"}
    return {
        "kind": "gpu",
        "region": region,
        "metric": metric,
        "status": status,
        "limit": limit,
        "usage": usage,
        "fetched_at": "2026-11-24T10:00:00.000+00:00",
        "error": error,
        "source": source.get(status),
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
    rows = [  # A100 from regions.get (usage known); on-demand H100 from the family quota
        check("us-east1", "NVIDIA_A100_GPUS", limit=4.0, usage=0.0),
        check("us-west1", "NVIDIA_A100_GPUS", limit=16.0, usage=8.0),
        check("europe-west4", "NVIDIA_H100_GPUS", limit=8.0, usage=None),
        check("us-west1", "NVIDIA_T4_GPUS", limit=100.0, usage=0.0),
        check("us-central1", "NVIDIA_H100_GPUS", "absent", 0.0, 0.0),
    ]
    got = answers.select(rows, metrics=["H100", "a100"], min_free=8)
    assert [r["region"] for r in got] == ["us-west1", "europe-west4"]  # 8 exact before ≤ 8
    assert [r["region"] for r in answers.select(rows, metrics=["H100"])] == [
        "europe-west4",
        "us-central1",
    ]
    assert [r["region"] for r in answers.select(rows, regions=["US-WEST1"])] == [
        "us-west1",
        "us-west1",
    ]
    assert answers.select(rows, metrics=["B200"]) == []


def test_best_regions_and_not_reported():
    rows = [
        check("us-east1", "NVIDIA_A100_GPUS", limit=4.0, usage=0.0),
        check("us-west1", "NVIDIA_A100_GPUS", limit=16.0, usage=8.0),
        check("us-west1", "NVIDIA_H200_GPUS", "absent", 0.0, 0.0),
    ]
    best = answers.best_regions(rows, top=1)
    assert best == {"NVIDIA_A100_GPUS": [("us-west1", 8.0, True)], "NVIDIA_H200_GPUS": []}
    assert not answers.reported_anywhere(rows, "NVIDIA_H200_GPUS")


def test_ago():
    assert answers.ago(None) == "never"
    assert answers.ago(30) == "just now"  # every surface: the tray redraws once a minute
    assert answers.ago(240) == "4 min ago"
    assert answers.ago(299) == "4 min ago"  # never rounded up to a time not yet reached


def fresh_check(region, metric, status="ok", limit=8.0, usage=2.0, age=60.0, now=1e9):  # noqa: PLR0917
    from datetime import UTC, datetime

    entry = check(region, metric, status, limit, usage)
    entry["fetched_at"] = (
        None
        if status in ("pending", "error")
        else datetime.fromtimestamp(now - age, UTC).isoformat(timespec="milliseconds")
    )
    return entry


def test_project_state():
    now, max_age = 1e9, 1800.0
    ok, absent = fresh_check("a", "M", now=now), fresh_check("b", "M", "absent", 0.0, 0.0, now=now)
    error = fresh_check("c", "M", "error", None, None, now=now)
    pending = fresh_check("d", "M", "pending", None, None, now=now)
    old = fresh_check("e", "M", age=4000.0, now=now)
    assert answers.project_state([ok, absent], max_age, now) == "complete"
    assert answers.project_state([ok, error], max_age, now) == "incomplete"
    assert answers.project_state([ok, pending], max_age, now) == "incomplete"
    assert answers.project_state([error, old], max_age, now) == "failed"
    assert answers.project_state([error, pending], max_age, now) == "failed"
    assert answers.project_state([ok, old], max_age, now) == "stale"
    kept = {**ok, "error": "p/a: permission denied (HTTP 403)"}  # fresh, but its re-fetch failed
    assert answers.project_state([kept, absent], max_age, now) == "incomplete"
    assert answers.project_state([kept, {**absent, "error": "timed out"}], max_age, now) == (
        "failed"
    )
    assert answers.updated_at([old, ok, error]) == now - 60.0
    assert answers.updated_at([error]) is None


def test_summary_and_notification_lines():
    rows = [
        check("us-east1", "NVIDIA_A100_GPUS", limit=4.0, usage=0.0),
        check("us-west1", "NVIDIA_A100_GPUS", limit=16.0, usage=8.0),
        # regions.get did not list A100 there: the family quota answered, usage unknown
        check("europe-west4", "NVIDIA_A100_GPUS", limit=16.0, usage=None),
        check("us-central1", "NVIDIA_H100_GPUS", limit=8.0, usage=None),
        check("us-west1", "NVIDIA_H200_GPUS", "absent", 0.0, 0.0),
        check("us-west1", "NVIDIA_L4_GPUS", limit=2.0, usage=2.0),
        check("us-west1", "NVIDIA_T4_GPUS", "pending", None, None),
    ]
    assert answers.summary_line("NVIDIA_A100_GPUS", rows) == (
        "A100 · ≤ 16 free europe-west4 · 8 us-west1"  # most first; ≤ says usage is unknown
    )
    assert answers.summary_line("NVIDIA_H100_GPUS", rows) == "H100 · ≤ 8 free us-central1"
    assert answers.summary_line("NVIDIA_H200_GPUS", rows) == "H200 · not reported"
    assert answers.summary_line("NVIDIA_L4_GPUS", rows) == "L4 · 0 free"
    assert answers.summary_line("NVIDIA_T4_GPUS", rows) == "T4 · no answer yet"
    assert answers.best_sentence("NVIDIA_A100_GPUS", rows) == "A100: ≤ 16 free in europe-west4"
    assert answers.best_sentence("NVIDIA_H100_GPUS", rows) == "H100: ≤ 8 free in us-central1"
    assert answers.best_sentence("NVIDIA_H200_GPUS", rows) == "H200: not reported"
    assert answers.best_sentence("NVIDIA_L4_GPUS", rows) == "L4: none free"
    assert answers.metrics_in_order(rows) == [
        "NVIDIA_A100_GPUS",
        "NVIDIA_H100_GPUS",
        "NVIDIA_H200_GPUS",
        "NVIDIA_L4_GPUS",
        "NVIDIA_T4_GPUS",
    ]


def test_text_from_the_cache_is_cleaned_and_capped():
    assert answers.clean("a\x1b[2J\nb\tc") == "a [2J b c"
    assert answers.clean("x" * 500, 10) == "x" * 9 + "…"
    assert answers.ago(59) == "just now"
    assert answers.ago(61) == "1 min ago"
