"""The chart (Pillow), the text summary and ``quota-tray stats``.

``python tests/history/test_plot.py`` (or QUOTA_TRAY_DOCS=1) redraws docs/stats.png from a
simulated day.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from pathlib import Path

import pytest
from history_samples import NOW, known_history, record
from PIL import Image

from trayapp import history, stats
from trayapp.history import Series
from trayapp.ui import plot
from trayapp.warming.events import Event, Progress, WarmEvent
from trayapp.warming.levels import Level, Thresholds

DOCS_CHART = Path(__file__).resolve().parents[2] / "docs" / "stats.png"


def simulated_day(end: float, seed: int = 7, project: str = "demo-project") -> list[Event]:
    """A day of warming: a cycle every 30 min of 19 batches 2 s apart, and a slow afternoon."""
    rng = random.Random(seed)
    levels = Thresholds()
    checks = [f"gpu:{project}/us-central1/NVIDIA_T4_GPUS", f"c3:{project}/us-east1/C3_CPUS"]
    events: list[Event] = []
    start = end - 86400 + 600
    for cycle, t in enumerate(range(int(start), int(end) - 120, 1800), start=1):
        if cycle > 1:
            events.append(
                Event(
                    WarmEvent.REWARM,
                    cycle,
                    Progress(0, 20, 0, 18),
                    at=t,
                    data={"reason": "periodic"},
                )
            )
        base = 1900 if 14 <= time.localtime(t).tm_hour < 17 else 820
        for i in range(19):
            ms = int(base * rng.lognormvariate(0, 0.22))
            if rng.random() < 0.02:
                ms = int(ms * rng.uniform(2.5, 4.5))
            level, fail = levels.level(ms), rng.random() < 0.01
            kind = (
                WarmEvent.BATCH_FAIL
                if fail
                else WarmEvent.BATCH_WARM
                if level is Level.FIRE
                else WarmEvent.BATCH_SLOW
            )
            events.append(
                Event(
                    kind,
                    cycle,
                    Progress(i + 1, 20, min(i + 1, 18), 18),
                    at=t + 2 * i + rng.random(),
                    elapsed_ms=ms,
                    level=level,
                    error_kind="rate_limited" if fail else None,
                    data={"checks": checks, "failed": checks[:1] if fail else [], "api_calls": 1},
                )
            )
        if cycle == 20:
            events.append(
                Event(
                    WarmEvent.ERROR,
                    cycle,
                    Progress(19, 20, 18, 18),
                    at=t + 40,
                    error_kind="permission",
                    message="permission denied",
                )
            )
            continue
        data = {
            "failed": 0,
            "api_calls": 18,
            "duration_s": round(38 + 3 * rng.random(), 1),
            "checks": 38,
        }
        events.append(
            Event(
                WarmEvent.COMPLETE,
                cycle,
                Progress(20, 20, 18, 18),
                at=t + 39,
                level=Level.COMPLETE,
                data=data,
            )
        )
    return events


def colours(path: Path) -> set[tuple[int, int, int]]:
    with Image.open(path) as img:
        return {c for _, c in img.convert("RGB").getcolors(1 << 20)}


def near(found: set, colour: tuple[int, int, int], tolerance: int = 30) -> bool:
    return any(sum(abs(a - b) for a, b in zip(c, colour, strict=True)) <= tolerance for c in found)


def sample_series(n: int = 120) -> Series:
    """Batches through every level, one failure, two cycles and an error, over an hour."""
    pattern = [(600, "fire"), (2200, "warn"), (2700, "slowish"), (3300, "slow")]
    batches = [(NOW + 30 * i, *pattern[i % 4], i == 7) for i in range(n)]
    return Series(batches, completes=[NOW + 1200, NOW + 3000], errors=[NOW + 2000], since_s=3600)


def test_chart_has_the_size_and_the_level_colours(tmp_path):
    out = plot.draw_chart(sample_series(), tmp_path / "c.png", size=(960, 400))
    with Image.open(out) as img:
        assert img.format == "PNG" and img.size == (960, 400)
    found = colours(out)
    for name in ("fire", "warn", "slowish", "slow"):
        assert plot.BANDS[name] in found, name  # the bands are flat areas: exact colours
        assert near(found, plot.PALETTE[name]), name  # points and threshold lines
    assert near(found, plot.CYCLE_COLOUR)


def _column(path: Path, x: int) -> list[tuple[int, int, int]]:
    with Image.open(path) as img:
        rgb = img.convert("RGB")
        return [rgb.getpixel((x, y)) for y in range(img.height - 1, -1, -1)]  # bottom first


@pytest.mark.parametrize(
    ("limits", "ratio"), [((2000, 2500, 3000), 4.0), ((1000, 2000, 3000), 1.0)]
)
def test_bands_follow_the_thresholds(tmp_path, limits, ratio):
    quiet = Series([(NOW + i, 300, "fire", False) for i in range(50)], since_s=None)
    warn, slowish, slow = limits
    out = plot.draw_chart(quiet, tmp_path / "c.png", warn_ms=warn, slowish_ms=slowish, slow_ms=slow)
    column = _column(out, 67)  # inside the plot, left of the first point
    heights = {name: column.count(plot.BANDS[name]) for name in plot.BANDS}
    first = [column.index(plot.BANDS[name]) for name in ("fire", "warn", "slowish", "slow")]
    assert first == sorted(first)  # fire at the bottom, slow at the top
    assert heights["fire"] / heights["warn"] == pytest.approx(ratio, rel=0.1)
    assert heights["warn"] == pytest.approx(
        heights["slowish"] * (slowish - warn) / (slow - slowish), abs=3
    )


def test_an_empty_period_still_gives_a_chart(tmp_path):
    out = plot.draw_chart(Series(since_s=3600), tmp_path / "empty.png", size=(480, 240))
    with Image.open(out) as img:
        assert img.size == (480, 240)
    assert plot.BANDS["fire"] in colours(out)


def test_outliers_and_long_spans_are_drawn(tmp_path):
    week = Series(
        [
            (NOW + 3600 * i, 30_000 if i == 5 else 800, "slow" if i == 5 else "fire", False)
            for i in range(7 * 24)
        ],
        since_s=7 * 86400,
    )
    out = plot.draw_chart(week, tmp_path / "week.png")
    assert near(colours(out), plot.PALETTE["slow"])  # the outlier, pinned to the top


def draw_docs_chart() -> None:
    """docs/stats.png: a simulated day recorded by the real recorder, drawn by the real chart."""
    import tempfile

    end = time.mktime((2026, 11, 24, 18, 0, 0, 0, 0, -1))
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "history.sqlite3"
        rec = history.HistoryRecorder(db, "demo-project", retention_days=36500).start()
        for event in simulated_day(end):
            rec.on_event(event)
        rec.stop(30)
        plot.draw_chart(history.series(db, 86400, now=end), DOCS_CHART)


def test_the_docs_chart_is_drawn_by_the_recorder_and_the_chart():
    if not DOCS_CHART.is_file() or os.environ.get("QUOTA_TRAY_DOCS") == "1":
        draw_docs_chart()
    with Image.open(DOCS_CHART) as img:
        assert img.size == (960, 400)
    found = colours(DOCS_CHART)
    assert all(plot.BANDS[name] in found for name in plot.BANDS)


def test_a_simulated_day_through_the_recorder(tmp_path):
    path = tmp_path / "h.sqlite3"
    end = time.time()
    record(path, simulated_day(end), label="demo-project")
    s = history.stats(path, 86400, now=end)
    assert s["batches"] == 47 * 19 + 19 and len(s["cycles"]) == 47
    assert s["errors"] == {"permission": 1} and s["rewarms"] == {"periodic": 47}
    assert s["levels"]["fire"] > 0.8 and s["levels"]["slow"] > 0
    out = plot.draw_chart(history.series(path, 86400, now=end), tmp_path / "day.png")
    assert plot.BANDS["slow"] in colours(out)


# -- quota-tray stats ------------------------------------------------------------------------------
def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    stats.add_stats_arguments(parser)
    return parser.parse_args(argv)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("30m", 1800),
        ("24h", 86400),
        ("7d", 604800),
        ("2w", 1209600),
        ("90", 90),
        ("45s", 45),
        ("1.5h", 5400),
        (" 24H ", 86400),
        ("all", None),
    ],
)
def test_since_accepts_durations(text, seconds):
    assert stats.parse_since(text) == seconds


@pytest.mark.parametrize("text", ["", "abc", "-5m", "0", "10x", "inf", "nanh", "5mm"])
def test_a_bad_since_is_one_line(text):
    words = "cannot be negative" if text.startswith("-") else "expected a duration"
    with pytest.raises(ValueError, match=rf"^--since:? {words}") as exc:
        stats.parse_since(text)
    assert "\n" not in str(exc.value)


def test_stats_command_prints_a_summary(tmp_path, capsys):
    path = tmp_path / "h.sqlite3"
    known_history(path)
    assert stats.stats_command(parse("--db", str(path), "--since", "all")) == 0
    out = capsys.readouterr().out
    assert "History, all recorded history (p1)" in out
    assert "batches   21: p50 1100 ms, p95 2000 ms, max 9999 ms; 42 API calls" in out
    assert "failures  3 batches (rate_limited 2, timeout 1)" in out
    assert "cycles    2 complete, p50 40 s, max 50 s, 19 API calls per cycle" in out
    assert "hit rate" not in out  # no line that no run can ever fill
    assert "🔥 fire" in out and "💀 slow" in out


def test_the_chart_is_drawn_before_the_users_file_is_touched(tmp_path, capsys, monkeypatch):
    path = tmp_path / "h.sqlite3"
    known_history(path)
    chart = tmp_path / "chart.png"
    chart.write_bytes(b"the user's old chart")

    def broken(*_args, **_kwargs):
        raise ValueError("cannot draw")

    monkeypatch.setattr(stats, "draw_chart", broken)
    assert stats.stats_command(parse("--db", str(path), "--plot", str(chart))) == 1
    assert chart.read_bytes() == b"the user's old chart"  # not truncated by a failed drawing
    err = capsys.readouterr().err
    assert err == f"quota-tray: cannot write the chart {chart}: cannot draw\n"


def test_stats_command_json_and_plot(tmp_path, capsys):
    path = tmp_path / "h.sqlite3"
    known_history(path)
    chart = tmp_path / "out.png"
    args = parse("--json", "--db", str(path), "--since", "all", "--plot", str(chart))
    assert stats.stats_command(args) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["batches"] == 21 and doc["chart"] == str(chart)
    assert doc["levels"] == history.stats(path, None)["levels"]
    with Image.open(chart) as img:
        assert img.size == (960, 400)


def test_stats_command_without_history_exits_3(tmp_path, capsys):
    assert stats.stats_command(parse("--db", str(tmp_path / "none.sqlite3"))) == 3
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.count("\n") == 1
    assert captured.err.startswith("quota-tray: no history yet: ")


def test_stats_command_bad_since_raises_value_error(tmp_path):
    with pytest.raises(ValueError, match="--since"):
        stats.stats_command(parse("--db", str(tmp_path / "h"), "--since", "yesterday"))


def test_show_stats_writes_the_chart_and_opens_it(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    path = tmp_path / "h.sqlite3"
    known_history(path)
    opened = []
    out = stats.show_stats(path, since_s=None, opener=opened.append)
    assert opened == [out] and out.name == "stats.png" and out.is_file()
    with Image.open(out) as img:
        assert img.size == (960, 400)
    with pytest.raises(history.HistoryError):
        stats.show_stats(tmp_path / "missing.sqlite3", opener=opened.append)


if __name__ == "__main__":  # redraw docs/stats.png
    draw_docs_chart()
    print(DOCS_CHART, file=sys.stderr)
