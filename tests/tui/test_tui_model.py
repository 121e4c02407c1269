"""The terminal view's rules without a terminal: rows, filters, sort order, the status line."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest
from tui_docs import check, dead_pid, doc, sample_checks

from trayapp import answers, cache
from trayapp.tui import model


def snap(checks=None, **kwargs):
    return cache.Snapshot(doc(sample_checks() if checks is None else checks, **kwargs))


def by_key(rows):
    return {r.key: r.cells for r in rows}


def test_rows_say_free_not_reported_unknown_usage_and_stale():
    cells = by_key(model.rows(snap(), "p"))
    #             region   metric          limit usage  FREE  age  status (as `show` says it)
    assert cells["us-central1/NVIDIA_T4_GPUS"][:5] == ("us-central1", "T4", "8", "2", "6")
    assert cells["us-central1/NVIDIA_H100_GPUS"][:5] == (
        "us-central1",
        "H100",
        "16",
        "unknown",
        "≤ 16",
    )
    assert cells["us-central1/NVIDIA_H100_GPUS"][6] == "ok"
    assert cells["us-east1/NVIDIA_H100_GPUS"][2:] == ("-", "-", "-", "just now", "not reported")
    assert cells["europe-west4/NVIDIA_H100_GPUS"][2:5] == ("32", "unknown", "≤ 32")
    assert cells["us-east1/NVIDIA_T4_GPUS"][4:] == (
        "unknown",
        "never",
        "error: 503 Service Unavailable",
    )
    assert cells["us-west1/NVIDIA_T4_GPUS"][6] == "ok (stale)"
    assert cells["asia-northeast1/C3_CPUS"][1] == "C3"
    assert cells["asia-northeast1/C3_CPUS"][6] == "pending"


@pytest.mark.parametrize(
    ("metrics", "min_free"),
    [
        ("H100", ""),
        ("h100 t4", ""),
        ("NVIDIA_T4_GPUS", ""),
        ("", "8"),
        ("H100", "10"),
        ("A100", ""),
    ],
)
def test_filters_mean_what_show_means(metrics, min_free):
    s = snap()
    filters = model.Filters.parse(metrics, min_free)
    expected = answers.select(
        s.checks("p"),
        metrics=metrics.split(),
        min_free=float(min_free) if min_free else None,
    )
    assert [r.key for r in model.rows(s, "p", filters)] == [
        f"{c['region']}/{c['metric']}" for c in expected
    ]


def test_min_free_keeps_bounds_and_orders_most_free_first():
    rows = model.rows(snap(), "p", model.Filters.parse("", "8"))
    assert [r.cells[4] for r in rows] == ["176", "≤ 32", "≤ 16", "≤ 8"]  # bounds pass on limits


@pytest.mark.parametrize("text", ["-1", "nan", "inf", "eight"])
def test_a_bad_min_free_is_refused(text):
    with pytest.raises(ValueError):
        model.Filters.parse("", text)


def test_sorts_keep_unknown_values_last_and_reverse():
    rows = model.rows(snap(), "p")
    free = model.sort_rows(rows, "free")
    assert [r.free for r in free] == [176, 32, 16, 8, 6, 3, None, None, None]
    rev = model.sort_rows(rows, "free", reverse=True)
    assert [r.free for r in rev] == [3, 6, 8, 16, 32, 176, None, None, None]
    regions = [r.cells[0] for r in model.sort_rows(rows, "region")]
    assert regions == sorted(regions)
    metrics = [r.cells[1] for r in model.sort_rows(rows, "metric")]
    assert metrics == sorted(metrics)
    ages = [r.age for r in model.sort_rows(rows, "age")]
    assert ages[:-2] == sorted(ages[:-2]) and ages[-2:] == [None, None]
    assert model.sort_rows(rows, "cache", reverse=True) == rows[::-1]


def test_clean_keeps_cache_text_on_one_short_line():
    assert model.clean("bad\x1b[31m\nnews\u202e", 80) == "bad [31m news"
    assert model.clean("x" * 100, 10) == "x" * 9 + "…"


ME = os.getpid()


@pytest.mark.parametrize(
    ("kwargs", "state", "head"),
    [
        ({"pid": ME, "level": None, "done": 0, "total": 38}, "starting", "⏳ Starting... 0/38"),
        ({"pid": ME, "level": "fire", "done": 15, "total": 38}, "warming", "🔥 Warming... 15/38"),
        ({"pid": ME, "level": "slow", "done": 15, "total": 38}, "warming", "💀 Warming... 15/38"),
        # the sample has a check in error: a finished cycle is never "complete" then
        ({"pid": ME, "level": "complete", "completed": True}, "error", "💥 1 failed: 503"),
        ({"pid": ME, "level": "fire", "completed": True}, "error", "💥 1 failed: 503"),
        ({"pid": ME, "paused": True, "done": 3, "total": 9}, "paused", "⏸ Paused 3/9"),
        (
            {"pid": ME, "level": "error", "completed": True, "failed": 1},
            "error",
            "💥 1 failed: 503 Service Unavailable · 9/9",
        ),
        ({"pid": ME, "level": "fire", "failed": 2}, "error", "💥 2 failed: 503 Service"),
        ({"level": "error", "failed": 1}, "stopped", "no warmer running · 9/9"),
    ],
)
def test_status_states(kwargs, state, head):
    """Each state of the widget, from the sample (which holds a check in error)."""
    s = snap(**kwargs)
    status = model.status(s, ["p"], alive=model.pid_alive(s.warmer["pid"]))
    assert status.state == state
    assert status.text.startswith(head), status.text


def test_status_tells_batch_time_data_age_and_read_hit_rate():
    s = snap(pid=ME, level="warn", last_batch_ms=2100)
    reads = cache.ReadStats()
    for c in s.checks("p"):
        reads.record(cache.is_fresh(c, cache.DEFAULT_MAX_AGE_S, time.time()))
    text = model.status(s, ["p"], alive=True, reads=reads).text
    assert text == (
        "⚠️ Warming... 9/9 · batch 2100 ms · updated just now, oldest 1.1 h ago · reads 67% fresh"
    )
    for _ in range(20):
        reads.record(False)
    assert model.status(s, ["p"], alive=True, reads=reads).text.endswith(
        "reads 21% fresh · cache warming is not keeping up"
    )


def test_status_without_any_answer_yet():
    s = snap([check("us-central1", "C3_CPUS", "pending")], pid=ME, level=None, done=0)
    assert (
        model.status(s, ["p"], alive=True).text
        == "⏳ Starting... 0/1 · batch 812 ms · never updated"
    )


def test_pid_alive():
    assert model.pid_alive(os.getpid())
    assert not model.pid_alive(dead_pid())
    for junk in (None, 0, -5, "42", True, 2.5, 2**31, 2**64):  # too big for the OS: not alive
        assert not model.pid_alive(junk)
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    deadline = time.monotonic() + 10
    while model.pid_alive(child.pid):  # exits, and is a zombie until reaped
        assert time.monotonic() < deadline, "an exited child still counts as a warmer"
        time.sleep(0.01)
    child.wait()


def test_freshness_follows_the_age_the_writer_states():
    """Between re-warms a value may be older than 1800 s and still fresh by the writer's word."""
    document = doc(sample_checks(), pid=ME)
    document["warmer"]["max_age_s"] = 5000.0
    rows = by_key(model.rows(cache.Snapshot(document), "p"))
    assert rows["us-west1/NVIDIA_T4_GPUS"][6] == "ok"  # 4000 s old
    assert by_key(model.rows(snap(pid=ME), "p"))["us-west1/NVIDIA_T4_GPUS"][6] == "ok (stale)"


def test_a_kept_value_whose_last_try_failed_says_so_as_show_does():
    """A failed re-fetch keeps the old answer and sets its error: the row must not read "ok"."""
    checks = [
        check("us-central1", "NVIDIA_T4_GPUS", limit=8, usage=2, error="503 Service Unavailable"),
        check("us-east1", "NVIDIA_H100_GPUS", "absent", age=4000, error="timed out\x1b[2J"),
    ]
    cells = by_key(model.rows(snap(checks, pid=ME), "p"))
    assert cells["us-central1/NVIDIA_T4_GPUS"][4:] == (
        "6",
        "just now",
        "ok, last try failed: 503 Service Unavailable",
    )
    assert cells["us-east1/NVIDIA_H100_GPUS"][6] == "error: timed out [2J"  # unknown now


def test_complete_only_when_every_check_is_known_and_none_failed():
    known = [c for c in sample_checks() if answers.known(c)]
    status = model.status(snap(known, pid=ME, level="complete", completed=True), ["p"], alive=True)
    assert (status.state, status.text.split(" · ")[0]) == ("complete", "✅ Complete 7/7")
