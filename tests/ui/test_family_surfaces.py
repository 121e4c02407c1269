"""What people read after a real cycle through both clients: family answers show usage ``unknown``
and FREE ``≤ limit``; a family quota that could not be read is unknown, with its fix, on every
surface: never "not reported", never a 0 limit."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from fakes import Recorder
from userdirs import isolated_env

from trayapp import answers, cache
from trayapp.sources.google import GoogleSource
from trayapp.tui import model
from trayapp.ui.display import quota_lines
from trayapp.warming.events import EventBus, WarmEvent
from trayapp.warming.plan import build_plan
from trayapp.warming.scheduler import Warmer

PROJECT = "proj-a"


def warm_once(emulator, path: Path) -> dict:
    bus, rec = EventBus(), Recorder()
    bus.subscribe(cache.CacheWriter(path))
    bus.subscribe(rec)
    source = GoogleSource(emulator.url, emulator.url, timeout_s=2.0)
    warmer = Warmer(build_plan([PROJECT]), source, bus, interval_s=0.03)
    warmer.start()
    try:
        ends = (WarmEvent.COMPLETE, WarmEvent.INCOMPLETE)
        events = rec.wait_for(lambda evs: any(e.kind in ends for e in evs), 60)
    finally:
        warmer.stop()
    return next(e for e in events if e.kind in ends).snapshot


def show(env, code: int = 0) -> dict[tuple[str, str], list[str]]:
    done = subprocess.run(
        [sys.executable, "-m", "trayapp", "show", "--metric", "H100", "--metric", "H200"],
        env=env,
        timeout=60,
        check=False,
        capture_output=True,
        text=True,
    )
    assert done.returncode == code, done.stderr
    lines = done.stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("REGION"))
    table = [re.split(r"\s{2,}", line.strip()) for line in lines[start + 1 :]]
    return {(r[0], r[1]): r[2:] for r in table}


@pytest.fixture
def env(tmp_path):
    return isolated_env(tmp_path / "home")


def cache_path(env) -> Path:
    return Path(env["XDG_CACHE_HOME"]) / "quota-tray" / cache.FILENAME


def test_family_answers_read_as_a_bound_everywhere(make_emulator, env):
    doc = warm_once(make_emulator(latency=2), cache_path(env))
    rows = show(env)
    assert rows["us-central1", "H100"][:3] == ["16", "unknown", "≤ 16"]
    assert rows["europe-west4", "H200"][:3] == ["4", "unknown", "≤ 4"]
    lines = {line.text.split(" · ")[0]: line.text for line in quota_lines(doc)}
    assert lines["H100"].startswith("H100 · ≤ 24 free europe-west4")
    checks = answers.document_checks(doc)
    assert answers.best_sentence("NVIDIA_H100_GPUS", checks) == "H100: ≤ 24 free in europe-west4"
    cells = {r.key: r.cells for r in model.rows(cache.load(cache_path(env)), PROJECT)}
    assert cells["us-central1/NVIDIA_H100_GPUS"][2:5] == ("16", "unknown", "≤ 16")


def test_unknown_is_never_not_reported_nor_zero_on_any_surface(make_emulator, env):
    emulator = make_emulator(latency=2, faults=["403:SERVICE_DISABLED@cloudquotas"])
    doc = warm_once(emulator, cache_path(env))
    fix = "the Cloud Quotas API is disabled for project proj-a"
    rows = show(env, code=3)  # nothing known about H100 and H200
    for region in ("us-central1", "us-east1", "us-west1", "europe-west4"):
        for gpu in ("H100", "H200"):
            assert rows[region, gpu][:3] == ["unknown"] * 3, (region, gpu)
            assert rows[region, gpu][-1].startswith(f"error: {fix}")
    lines = {line.text.split(" · ")[0]: line.text for line in quota_lines(doc)}
    assert lines["H100"].startswith(f"H100 · unknown: {fix}")
    assert lines["H200"].startswith(f"H200 · unknown: {fix}")
    checks = answers.document_checks(doc)
    assert answers.best_sentence("NVIDIA_H200_GPUS", checks).startswith(f"H200: unknown ({fix}")
    snap = cache.load(cache_path(env))
    cells = {r.key: r.cells for r in model.rows(snap, PROJECT)}
    assert cells["us-east1/NVIDIA_H100_GPUS"][2:5] == ("unknown",) * 3
    assert cells["us-east1/NVIDIA_H100_GPUS"][6].startswith(f"error: {fix}")
    assert not snap.is_complete(PROJECT)
    status = model.status(snap, [PROJECT], alive=True)
    assert status.state == "error" and fix in status.text
