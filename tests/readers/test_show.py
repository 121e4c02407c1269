"""`quota-tray show` as users run it: FREE, filters, the header, exit codes, --json."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from userdirs import isolated_env

from trayapp import answers, cache
from trayapp.safety.files import private_dir


@pytest.fixture
def env(tmp_path):
    return isolated_env(tmp_path / "home")


def qt(env, *args):
    return subprocess.run(
        [sys.executable, "-m", "trayapp", *args],
        env=env,
        timeout=60,
        check=False,
        capture_output=True,
        text=True,
    )


def iso(minutes_ago: float) -> str:
    when = datetime.now(UTC) - timedelta(minutes=minutes_ago)
    return when.isoformat(timespec="milliseconds")


# On-demand GPUs that regions.get never reports: only the GPU family quota answers them.
FAMILY_ONLY = ("NVIDIA_H100_GPUS", "NVIDIA_H100_MEGA_GPUS", "NVIDIA_H200_GPUS")


def entry(region, metric, status="ok", limit=8.0, usage=..., *, age=4, error=None, kind="gpu"):
    """A check as the warmer writes it: on-demand H100-class GPUs from the family quota (usage
    unknown, source cloudquotas); the rest from regions.get (usage known, 0 unless given).
    A usage for a family answer cannot happen, so it is refused."""
    family = status == "ok" and metric in FAMILY_ONLY
    if usage is ...:
        usage = None if family or status in ("pending", "error") else 0.0
    if family and usage is not None:
        raise ValueError(f"{metric} comes from the GPU family quota: its usage is unknown")
    source = None
    if status == "ok":
        source = "compute" if usage is not None else "cloudquotas"
    elif status == "absent":
        source = "compute"
    return {
        "kind": kind,
        "region": region,
        "metric": metric,
        "status": status,
        "limit": limit,
        "usage": usage,
        "fetched_at": None if status in ("pending", "error") else iso(age),
        "error": error,
        "source": source,
    }


def write(env, projects: dict[str, list[dict]]) -> Path:
    path = Path(env["XDG_CACHE_HOME"]) / "quota-tray" / cache.FILENAME
    private_dir(path.parent)
    doc = {
        "schema_version": 1,
        "written_at": iso(0),
        "warmer": {"pid": 1, "level": "complete", "last_batch_ms": 800, "paused": False},
        "projects": {
            name: {
                "cycle": {
                    "id": 3,
                    "started_at": iso(5),
                    "completed_at": iso(4),
                    "done": len(checks),
                    "total": len(checks),
                },
                "checks": checks,
            }
            for name, checks in projects.items()
        },
    }
    cache.write_atomic(path, doc)
    return path


H100, A100 = "NVIDIA_H100_GPUS", "NVIDIA_A100_GPUS"


def sample() -> list[dict]:
    """Made when a test runs: the ages are relative to now, not to when the module loaded.
    As the warmer writes them: A100 from regions.get (usage known), on-demand H100 from the
    GPU family quota (usage unknown)."""
    return [
        entry("us-central1", A100, limit=8.0, usage=6.0),
        entry("us-west1", A100, limit=16.0, usage=8.0),
        entry("europe-west4", H100, limit=8.0),  # the family quota: usage unknown
        entry("us-east1", H100, "absent", 0.0, 0.0),
        entry(
            "us-east5", H100, "error", None, None, error="HTTP 404 Not Found: no\x1b[2J such region"
        ),
        entry("us-central1", "NVIDIA_T4_GPUS", limit=4.0, usage=0.0),
        entry("us-central1", "C3_CPUS", limit=200.0, usage=24.0, kind="c3"),
    ]


def table(stdout: str) -> list[list[str]]:
    """Rows under the REGION header, split on runs of two spaces or more."""
    import re

    lines = stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("REGION"))
    return [re.split(r"\s{2,}", line.strip()) for line in lines[start + 1 :]]


_404 = "error: HTTP 404 Not Found: no [2J such region"


def test_free_column_not_reported_and_error_reasons(env):
    write(env, {"p": sample()})
    out = qt(env, "show")
    assert out.returncode == 0, out.stderr
    header = out.stdout.splitlines()[0]
    assert re.fullmatch(
        r"p: incomplete \(1 in error\) · updated [45] min ago · cycle 3 7/7", header
    )
    rows = {(r[0], r[1]): r[2:] for r in table(out.stdout)}
    assert rows["us-central1", "A100"] == ["8", "6", "2", "4 min ago", "ok"]
    assert rows["us-west1", "A100"][:3] == ["16", "8", "8"]
    assert rows["europe-west4", "H100"][:3] == ["8", "unknown", "≤ 8"]
    assert rows["us-east1", "H100"][:3] == ["-", "-", "-"]  # absent is never a zero
    assert rows["us-east1", "H100"][-1] == "not reported"
    # failed: nothing is known, which is not "no such quota"
    assert rows["us-east5", "H100"] == ["unknown", "unknown", "unknown", "never", _404]
    assert rows["us-central1", "C3"][:3] == ["200", "24", "176"]
    assert "\x1b" not in out.stdout


def test_filters_short_names_any_case_and_most_free_first(env):
    write(env, {"p": sample()})
    out = qt(env, "show", "--metric", "a100", "--metric", "h100", "--min-free", "2")
    assert out.returncode == 0, out.stderr
    assert [(r[0], r[1], r[4]) for r in table(out.stdout)] == [
        ("us-west1", "A100", "8"),
        ("europe-west4", "H100", "≤ 8"),  # as many at most: after the exact 8
        ("us-central1", "A100", "2"),
    ]
    out = qt(env, "show", "--metric", "NVIDIA_T4_GPUS", "--metric", "c3", "--region", "US-CENTRAL1")
    assert [(r[0], r[1]) for r in table(out.stdout)] == [
        ("us-central1", "T4"),
        ("us-central1", "C3"),
    ]


def test_a_filter_that_matches_nothing_exits_1(env):
    write(env, {"p": sample()})
    out = qt(env, "show", "--metric", "H100", "--min-free", "100")
    assert (out.returncode, out.stdout) == (1, "")
    assert out.stderr.startswith("quota-tray: no check matches --metric H100 --min-free 100; ")
    assert "1 of 3 checks are unknown (" in out.stderr  # unknown is not "no match"
    out = qt(env, "show", "--metric", "B200", "--json")
    assert out.returncode == 1
    assert json.loads(out.stdout)["projects"]["p"]["checks"] == []


def test_json_adds_free_state_and_age(env):
    write(env, {"p": sample()})
    out = qt(env, "show", "--json", "--metric", "A100", "--metric", "H100")
    assert out.returncode == 0, out.stderr
    body = json.loads(out.stdout)["projects"]["p"]
    assert body["state"] == "incomplete"
    assert 200 < body["age_s"] < 300
    free = {c["region"]: c["free"] for c in body["checks"]}
    assert free == {
        "us-central1": 2.0,
        "us-west1": 8.0,
        "europe-west4": None,
        "us-east1": None,
        "us-east5": None,
    }
    # the family quota's limit is only a bound: free stays null, free_at_most says the bound
    at_most = {c["region"]: c["free_at_most"] for c in body["checks"]}
    assert at_most == {**free, "europe-west4": 8.0}
    bounded = json.loads(
        qt(env, "show", "--json", "--min-free", "7", "--metric", "A100", "--metric", "H100").stdout
    )
    kept = [(c["region"], c["free"], c["free_at_most"]) for c in bounded["projects"]["p"]["checks"]]
    assert kept == [("us-west1", 8.0, 8.0), ("europe-west4", None, 8.0)]


def test_header_says_complete_failed_or_stale(env):
    fresh = [entry("r1", H100), entry("r2", H100, "absent", 0.0, 0.0)]
    failed = [entry("r1", H100, "error", None, None, error="denied"), entry("r2", H100, age=90)]
    stale = [entry("r1", H100, age=45)]
    write(env, {"a": fresh, "b": failed, "c": stale})
    lines = [line for line in qt(env, "show").stdout.splitlines() if "·" in line]
    assert lines == [
        "a: complete · updated 4 min ago · cycle 3 2/2",
        "b: failed (1 in error) · updated 1.5 h ago · cycle 3 2/2",
        "c: stale · updated 45 min ago · cycle 3 1/1",
    ]


def test_every_option_has_help(env):
    out = qt(env, "show", "--help")
    assert out.returncode == 0
    for option in ("--project", "--metric", "--region", "--min-free", "--json", "--max-age"):
        line = next(x for x in out.stdout.splitlines() if x.strip().startswith(option))
        assert len(line.split()) > 2, line  # the option and its words


def test_on_the_real_path(env, make_emulator):
    """A real cycle against the emulator, then the H100 answer read back."""
    emulator = make_emulator()
    warmed = qt(env, "run", "--once", "--project", "p", "--endpoint", emulator.url,
                "--interval", "0.05")  # fmt: skip
    assert warmed.returncode == 0, warmed.stderr
    snap = cache.load(Path(env["XDG_CACHE_HOME"]) / "quota-tray" / cache.FILENAME)
    expected = answers.select(snap.checks("p"), metrics=["H100"], min_free=1)
    assert expected  # the emulator has H100s in some default region
    out = qt(env, "show", "--metric", "H100", "--min-free", "1")
    assert out.returncode == 0, out.stderr
    assert [r[0] for r in table(out.stdout)] == [c["region"] for c in expected]
    frees = [float(r[4].lstrip("≤ ")) for r in table(out.stdout)]
    assert frees == sorted(frees, reverse=True)
