"""The cache file contract: atomic private writes, and one clear error for every bad file."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import jsonschema
import pytest

from trayapp import cache
from trayapp.warming.plan import build_plan
from trayapp.warming.state import WarmState

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((ROOT / "cache" / "schema.json").read_text())


def written_doc() -> dict:
    state = WarmState(build_plan(["p1", "p2"]))
    state.new_cycle(0.0)
    checks = list(state.checks)
    state.apply_ok(checks[0], {checks[0].metric: (8.0, 2.0)}, cache.now_iso())
    state.apply_ok(checks[1], {}, cache.now_iso())
    state.apply_error(checks[2], "timeout: slow", final=True)
    return state.document({"pid": 1, "level": "fire", "last_batch_ms": 5, "paused": False})


def test_example_and_written_documents_follow_the_schema(tmp_path):
    jsonschema.validate(json.loads((ROOT / "cache" / "example.json").read_text()), SCHEMA)
    doc = written_doc()
    jsonschema.validate(doc, SCHEMA)
    path = tmp_path / "c" / cache.FILENAME
    cache.write_atomic(path, doc)
    snap = cache.load(path)
    assert snap.doc == doc
    assert len(snap.checks("p1")) == 38 and len(snap.checks()) == 76
    assert snap.get("p1", "us-central1", "NVIDIA_T4_GPUS")["limit"] == 8.0


def test_files_are_private(tmp_path):
    path = tmp_path / "deep" / "dir" / cache.FILENAME
    old = os.umask(0)
    try:
        cache.write_atomic(path, written_doc())
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert [p.name for p in path.parent.iterdir()] == [cache.FILENAME]  # no temp files left


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "corrupt"),
        (b'{"schema_version": 1, "written_at"', "corrupt"),  # truncated
        (b"\xff\xfe garbage \x00", "corrupt"),
        (b"[1, 2, 3]", "schema"),
        (b'{"hello": "world"}', "schema"),
        (b'{"schema_version": 2}', "schema"),
        (b'{"schema_version": 1}', "corrupt"),
        (b'{"schema_version": 1, "written_at": "x", "warmer": {}, "projects": []}', "corrupt"),
        (b"[" * 100000, "corrupt"),
    ],
)
def test_bad_files_give_one_clear_error(tmp_path, content, reason):
    path = tmp_path / cache.FILENAME
    path.write_bytes(content)
    with pytest.raises(cache.CacheError) as err:
        cache.load(path)
    assert err.value.reason == reason
    assert str(path) in str(err.value) and "\n" not in str(err.value)


def test_a_check_with_a_bad_status_is_corrupt(tmp_path):
    doc = written_doc()
    doc["projects"]["p1"]["checks"][0]["status"] = "great"
    path = tmp_path / cache.FILENAME
    path.write_text(json.dumps(doc))
    with pytest.raises(cache.CacheError, match="status"):
        cache.load(path)


def test_missing_and_unreadable(tmp_path):
    with pytest.raises(cache.CacheError) as err:
        cache.load(tmp_path / "nope.json")
    assert err.value.reason == "missing"
    with pytest.raises(cache.CacheError) as err:
        cache.load(tmp_path)  # a directory where the file should be
    assert err.value.reason == "unreadable"


def test_set_aside_keeps_the_bad_file_for_a_person(tmp_path):
    path = tmp_path / cache.FILENAME
    path.write_text("{broken")
    first = Path(cache.set_aside(path))
    path.write_text("{broken again")
    second = Path(cache.set_aside(path))
    assert not path.exists() and first != second
    assert first.read_text() == "{broken" and second.read_text() == "{broken again"


def test_freshness_warm_and_complete():
    doc = written_doc()
    snap = cache.Snapshot(doc)
    now = time.time()
    assert not snap.is_warm("p1", now=now)
    for check in doc["projects"]["p1"]["checks"]:  # as a cycle writes them:
        family = check["metric"] in ("NVIDIA_H100_GPUS", "NVIDIA_H200_GPUS")  # usage unknown
        check.update(
            status="ok",
            limit=1.0,
            usage=None if family else 0.0,
            source="cloudquotas" if family else "compute",
            fetched_at=cache.now_iso(),
            error=None,
        )
    assert snap.is_complete("p1", now=now) and snap.is_warm("p1", now=now)
    assert not snap.is_warm("p1", now=now + 1801)  # everything older than max-age
    checks = doc["projects"]["p1"]["checks"]
    gpu = [c for c in checks if c["kind"] == "gpu"]
    for check in gpu[:4]:  # 16/20 GPU checks fresh: exactly 80%
        check.update(status="error", limit=None, usage=None, fetched_at=None)
    assert snap.is_warm("p1", now=now) and not snap.is_complete("p1", now=now)
    gpu[4].update(status="pending", limit=None, usage=None, fetched_at=None)
    assert not snap.is_warm("p1", now=now)
    assert not snap.is_warm(now=now)  # p2 is not warm either


def test_read_stats_complain_below_80_percent_after_ten_reads():
    stats = cache.ReadStats()
    for _ in range(9):
        stats.record(False)
    assert not stats.should_complain()  # not enough reads yet
    stats.record(True)
    assert stats.hits == 1 and stats.hit_rate == 0.1 and stats.should_complain()
    for _ in range(60):
        stats.record(True)
    assert not stats.should_complain()


WRITER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from trayapp import cache
    path = Path(sys.argv[1])
    n = 0
    doc = {"schema_version": 1, "written_at": "", "warmer": {}, "projects": {}}
    blob = "x" * 200_000
    while True:
        n += 1
        doc["written_at"] = cache.now_iso()
        doc["warmer"] = {"n": n, "pad": blob}
        cache.write_atomic(path, doc)
        if n == 1:
            print("ready", flush=True)
    """
)


def test_kill_9_during_writes_leaves_a_loadable_file(tmp_path):
    path = tmp_path / cache.FILENAME
    seen = set()
    for i in range(15):
        proc = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(path)], stdout=subprocess.PIPE, text=True
        )
        assert proc.stdout.readline().strip() == "ready"
        time.sleep(0.005 * (i % 5))  # kill at different points of the write loop
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        proc.stdout.close()
        snap = cache.load(path)  # never a torn file
        seen.add(snap.warmer["n"])
    assert len(seen) > 1


def test_importing_the_reader_is_light():
    code = (
        "import sys, trayapp.cache; heavy = [m for m in ('google', 'pystray', 'PIL', "
        "'plyer', 'platformdirs', 'requests') if m in sys.modules]; print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_readers_give_a_value_the_cycle_slack_the_writer_states():
    """At each periodic re-warm a value is up to one re-warm period plus the time the cycle
    takes to come round to it: still fresh, by the age the writer publishes."""
    now = cache.parse_time("2026-11-24T10:30:20.000+00:00")
    doc = {
        "schema_version": 1,
        "written_at": "2026-11-24T10:30:20.000+00:00",
        "warmer": {"pid": 1, "level": "complete", "max_age_s": 2100.0},
        "projects": {
            "p": {
                "cycle": {"id": 2, "started_at": "x", "completed_at": None, "done": 0, "total": 1},
                "checks": [
                    {
                        "kind": "gpu",
                        "region": "us-central1",
                        "metric": "NVIDIA_T4_GPUS",
                        "status": "ok",
                        "limit": 8.0,
                        "usage": 0.0,
                        "fetched_at": "2026-11-24T10:00:10.000+00:00",  # 1810 s old
                        "error": None,
                    }
                ],
            }
        },
    }
    snap = cache.Snapshot(doc)
    assert snap.max_age_s == 2100.0 and snap.is_complete("p", now=now)
    assert not snap.is_complete("p", max_age_s=1800, now=now)  # an explicit age still rules
    del doc["warmer"]["max_age_s"]
    assert snap.max_age_s == cache.DEFAULT_MAX_AGE_S and not snap.is_complete("p", now=now)


@pytest.mark.parametrize(
    ("name", "entries", "why"),
    [
        ("requests", {"a": 1}, "requests that are not a list"),
        ("requests", [{"id": "x"}], "requests whose name is not a str"),
        ("capacity", [{"launch": "l", "region": "r", "machine_type": "m", "count": "2"}], "count"),
        ("extras", [{"key": "k", "status": "ok", "fetched_at": "yesterday"}], "fetched_at"),
    ],
)
def test_enrichment_lists_of_the_wrong_shape_are_corrupt(tmp_path, name, entries, why):
    doc = written_doc()
    doc["projects"]["p1"][name] = entries
    path = tmp_path / cache.FILENAME
    path.write_text(json.dumps(doc))
    with pytest.raises(cache.CacheError, match=why):
        cache.load(path)


def test_enrichment_text_is_made_inert_where_it_enters(tmp_path):
    doc = written_doc()
    doc["projects"]["p1"]["extras"] = [
        {"key": "preferences", "status": "error", "fetched_at": None, "error": "no\x1b[31m\nway"}
    ]
    doc["projects"]["p1"]["checks"][0] |= {"usage_source": "monitoring", "usage_at": "then"}
    path = tmp_path / cache.FILENAME
    path.write_text(json.dumps(doc))
    with pytest.raises(cache.CacheError, match="usage_at"):
        cache.load(path)
    del doc["projects"]["p1"]["checks"][0]["usage_at"]
    path.write_text(json.dumps(doc))
    error = cache.load(path).section("p1", "extras")[0]["error"]
    assert "\x1b" not in error and "\n" not in error and "way" in error
