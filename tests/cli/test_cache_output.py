"""The cache file is the product's output, through the real command line: a cycle whose answers
could not be written there is not complete, and a run never drops another project's answers."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from userdirs import headless_env, run_cli

from trayapp import answers, cache


@pytest.fixture
def env(tmp_path):
    return headless_env(tmp_path / "home")


@pytest.fixture
def emulator(make_emulator):
    return make_emulator(latency=2)


def cache_file(env) -> Path:
    return Path(env["XDG_CACHE_HOME"]) / "quota-tray" / cache.FILENAME


def log_text(env) -> str:
    return (Path(env["XDG_STATE_HOME"]) / "quota-tray" / "log" / "cache_warm.log").read_text()


def once(env, emulator, *args):
    return run_cli(env, "run", "--once", "--endpoint", emulator.url, "--interval", "0.05", *args)


def _sh(*cmd: str) -> bool:
    return subprocess.run(cmd, capture_output=True, check=False).returncode == 0


def can_mount() -> bool:
    if os.geteuid() != 0 or not shutil.which("mount"):
        return False
    probe = tempfile.mkdtemp(prefix="quota-tray-mount-")
    try:
        return _sh("mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", probe) and _sh(
            "umount", probe
        )
    finally:
        with contextlib.suppress(OSError):
            os.rmdir(probe)


@contextlib.contextmanager
def unwritable(folder: Path, how: str):
    """The cache folder read-only (a read-only tmpfs, or mode 0500 for a user other than
    root), or a folder where the cache file goes: writes fail, for root too."""
    folder.mkdir(parents=True, mode=0o700)
    if how == "folder in its place":
        (folder / cache.FILENAME).mkdir()
        yield "Is a directory"
        return
    if can_mount():
        assert _sh("mount", "-t", "tmpfs", "-o", "ro,size=64k,mode=0700", "tmpfs", str(folder))
        try:
            yield "Read-only file system"
        finally:
            _sh("umount", "-l", str(folder))
    elif os.geteuid() != 0:
        folder.chmod(0o500)
        try:
            yield "Permission denied"
        finally:
            folder.chmod(0o700)
    else:
        pytest.skip("root without mount: no read-only folder can be made here")


@pytest.mark.parametrize("how", ["read-only folder", "folder in its place"])
def test_run_once_whose_answers_were_not_written_ends_incomplete_and_exits_1(env, emulator, how):
    path = cache_file(env)
    with unwritable(path.parent, how) as why:
        out = once(env, emulator, "--project", "p")
        assert not path.is_file()
    assert out.returncode == 1, out.stdout + out.stderr
    where = f"cannot write {path}: {why}"
    for text in (out.stdout, log_text(env)):
        assert "CACHE_WARM_COMPLETE" not in text and "HOT" not in text, text
        [end] = [line for line in text.splitlines() if "CACHE_WARM_INCOMPLETE" in line]
        assert "💥 CACHE_WARM_INCOMPLETE: GPU 20/20, C3 18/18 in " in end
        assert f" - answers not written ({where}) - run --once finished, answers not written" in (
            end
        )
        assert "failed (" not in end  # every check was answered: only the write failed
    assert "Traceback" not in out.stderr


def test_status_tray_words_say_not_written_and_the_next_tick_writes_it(env, emulator):
    path = cache_file(env)
    path.mkdir(parents=True)  # a folder took the file's place: no write can succeed
    args = ("run", "--headless", "--endpoint", emulator.url, "--project", "p", "--interval", "0.05")
    proc = subprocess.Popen(
        [sys.executable, "-m", "trayapp", *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        status = wait_status(env, lambda s: s["level"] == "error")
        where = f"cannot write {path}: Is a directory"
        assert status["unwritten"] == where and status["failed"] == 0
        assert status["progress"]["p"] == {"done": 38, "total": 38, "complete": False}
        text = run_cli(env, "status").stdout
        assert "level: not written, last batch " in text
        assert f"not written: {where}; tried again at every tick" in text
        assert "CACHE_WARM_COMPLETE" not in log_text(env)

        path.rmdir()  # mended: no re-warm asked, the next tick writes the answers
        status = wait_status(env, lambda s: s["level"] == "complete")
        assert status["unwritten"] is None and status["progress"]["p"]["complete"] is True
        assert status["cycle"] == 1
        snap = cache.load(path)
        assert snap.is_complete("p") and snap.warmer["level"] == "complete"
        lines = log_text(env).splitlines()
        ends = [line.split(" ", 2)[2] for line in lines if "CACHE_WARM_" in line]
        ends = [e for e in ends if e.startswith(("CACHE_WARM_INCOMPLETE", "CACHE_WARM_COMPLETE"))]
        assert [e.split(":")[0] for e in ends] == ["CACHE_WARM_INCOMPLETE", "CACHE_WARM_COMPLETE"]
        assert f"answers not written ({where}) - retry in 0.1s" in ends[0]
        assert sum("CACHE_WARM_ERROR: " + where in line for line in lines) == 1
    finally:
        run_cli(env, "quit")
        proc.wait(10)
    assert "Traceback" not in proc.stderr.read()


def wait_status(env, pred, timeout=60):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        out = run_cli(env, "status", "--json")
        if out.returncode == 0:
            last = json.loads(out.stdout)
            if pred(last):
                return last
        time.sleep(0.05)
    raise AssertionError(f"status never matched; last: {last}")


def _aged(doc: dict, project: str, hours: float) -> None:
    """The file as it reads ``hours`` later: every answer of ``project`` that much older."""
    for check in doc["projects"][project]["checks"]:
        if check["fetched_at"]:
            then = datetime.fromisoformat(check["fetched_at"]) - timedelta(hours=hours)
            check["fetched_at"] = then.isoformat(timespec="milliseconds")


@pytest.mark.parametrize("named", ["--project", "GOOGLE_CLOUD_PROJECT"])
def test_a_run_of_one_project_keeps_the_other_projects_answers(env, emulator, named):
    path = cache_file(env)
    assert once(env, emulator, "--project", "b").returncode == 0
    before = cache.load(path)
    doc = before.doc
    _aged(doc, "b", 2)  # two hours pass
    cache.write_atomic(path, doc)
    kept = cache.load(path).doc["projects"]["b"]

    if named == "--project":
        out = once(env, emulator, "--project", "a")
    else:
        out = once({**env, "GOOGLE_CLOUD_PROJECT": "a"}, emulator)
    assert out.returncode == 0, out.stdout + out.stderr
    snap = cache.load(path)
    assert snap.projects == ["a", "b"]
    assert snap.doc["projects"]["b"] == kept  # as they were: values, times, cycle
    assert snap.is_complete("a") and not snap.is_complete("b")
    now = time.time()
    assert answers.project_state(snap.checks("b"), snap.max_age_s, now) == "stale"
    assert answers.project_state(snap.checks("a"), snap.max_age_s, now) == "complete"

    shown = run_cli(env, "show", "--project", "b")
    assert shown.returncode == 0
    assert shown.stdout.startswith("b: stale · updated 2.0 h ago · cycle 1 38/38\n"), shown.stdout
    as_json = json.loads(run_cli(env, "show", "--json").stdout)
    assert as_json["projects"]["b"]["state"] == "stale"
    assert as_json["projects"]["a"]["state"] == "complete"

    # a corrupt file is still set aside, and nothing of it is kept
    path.write_text('{"schema_version": 1, "projects": {"b": ')
    assert once(env, emulator, "--project", "a").returncode == 0
    assert cache.load(path).projects == ["a"]
    assert len(list(path.parent.glob(cache.FILENAME + ".bad-*"))) == 1
