"""Links planted at our paths and folders that are not ours: the real app never writes through
them, tightens its own folders and refuses another user's with one line."""

from __future__ import annotations

import os
import sqlite3
import stat
from pathlib import Path

import pytest
from emulator_fixtures import *  # noqa: F403
from userdirs import isolated_env, run_cli

from trayapp.logsink import FileLog
from trayapp.safety import files as safefiles


@pytest.fixture
def env(tmp_path):
    e = isolated_env(tmp_path / "home", PYTHONUNBUFFERED="1")
    e.pop("DISPLAY", None)
    return e


def qt(env, *args):
    return run_cli(env, *args)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def test_links_at_log_history_and_cache_are_replaced_never_followed(env, tmp_path, emulator):
    state = Path(env["XDG_STATE_HOME"]) / "quota-tray"
    (state / "log").mkdir(parents=True)
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    victim.chmod(0o644)
    foreign = tmp_path / "foreign.sqlite3"
    with sqlite3.connect(foreign) as db:
        db.execute("CREATE TABLE mine (x)")
    foreign_bytes = foreign.read_bytes()
    (state / "log" / "cache_warm.log").symlink_to(victim)
    (state / "history.sqlite3").symlink_to(foreign)
    side_victims = []
    for suffix in ("-wal", "-shm", "-journal"):  # SQLite's own side files
        side_victims.append(tmp_path / f"side{suffix}")
        side_victims[-1].write_text("precious\n")
        (state / f"history.sqlite3{suffix}").symlink_to(side_victims[-1])
    cache_dir = Path(env["XDG_CACHE_HOME"]) / "quota-tray"
    cache_dir.mkdir(parents=True)
    cache_victim = tmp_path / "cache-victim.json"
    cache_victim.write_text("{}")
    (cache_dir / "quota-cache.json").symlink_to(cache_victim)

    out = qt(
        env, "run", "--once", "--project", "p", "--endpoint", emulator.url, "--interval", "0.02"
    )

    assert out.returncode == 0, out.stderr
    assert victim.read_text() == "precious\n" and mode(victim) == 0o644
    assert foreign.read_bytes() == foreign_bytes
    assert all(v.read_text() == "precious\n" for v in side_victims)
    assert not any(p.is_symlink() for p in state.glob("history.sqlite3-*"))
    with sqlite3.connect(state / "history.sqlite3") as db:  # the cycle was recorded
        assert db.execute("SELECT COUNT(*) FROM cycles").fetchone()[0] >= 1
    assert cache_victim.read_text() == "{}"
    for ours in (state / "log" / "cache_warm.log", state / "history.sqlite3"):
        assert not ours.is_symlink() and mode(ours) == 0o600
    assert "CACHE_WARM_COMPLETE" in (state / "log" / "cache_warm.log").read_text()
    assert not (cache_dir / "quota-cache.json").is_symlink()

    # a path the user names is the user's: their link is followed, as any program would
    mine = tmp_path / "charts" / "latest.png"
    mine.parent.mkdir()
    mine.write_bytes(b"last week's chart")
    mine.chmod(0o644)
    chart = tmp_path / "chart.png"
    chart.symlink_to(mine)
    out = qt(env, "stats", "--plot", str(chart))
    assert out.returncode == 0, out.stderr
    assert chart.is_symlink() and chart.readlink() == mine
    assert mine.read_bytes().startswith(b"\x89PNG") and mode(mine) == 0o644
    assert victim.read_text() == "precious\n" and mode(victim) == 0o644


def test_our_existing_loose_folders_are_tightened_to_0700(env, emulator):
    folders = [
        Path(env["XDG_STATE_HOME"]) / "quota-tray",
        Path(env["XDG_STATE_HOME"]) / "quota-tray" / "log",
        Path(env["XDG_CACHE_HOME"]) / "quota-tray",
    ]
    for folder in folders:
        folder.mkdir(parents=True, exist_ok=True)
        folder.chmod(0o755)

    out = qt(
        env, "run", "--once", "--project", "p", "--endpoint", emulator.url, "--interval", "0.02"
    )

    assert out.returncode == 0, out.stderr
    assert [mode(f) for f in folders] == [0o700] * 3


@pytest.mark.skipif(os.getuid() != 0, reason="needs root to give a folder to another user")
def test_a_folder_owned_by_another_user_is_refused_in_one_line(env, emulator):
    log_dir = Path(env["XDG_STATE_HOME"]) / "quota-tray" / "log"
    log_dir.mkdir(parents=True)
    os.chown(log_dir, 65534, 65534)

    out = qt(env, "run", "--once", "--project", "p", "--endpoint", emulator.url)

    assert out.returncode == 1
    assert out.stderr.strip().count("\n") == 0, out.stderr
    assert "owned by another user" in out.stderr and "Traceback" not in out.stderr
    assert list(log_dir.iterdir()) == []


def test_open_private_refuses_a_fifo_without_hanging(tmp_path):
    fifo = tmp_path / "log"
    os.mkfifo(fifo)
    with pytest.raises(OSError):  # no reader: ENXIO; with one: not a regular file
        safefiles.open_private(fifo)


def test_the_log_rotates_while_running(tmp_path):
    path = tmp_path / "log" / "cache_warm.log"
    filelog = FileLog(path, max_bytes=4000).open()
    try:
        for n in range(400):
            filelog.error(f"noisy server answer {n} " + "x" * 80)
    finally:
        filelog.close()
    assert filelog.rotations >= 5
    assert path.stat().st_size <= 4000 + 200
    assert path.with_name("cache_warm.log.1").stat().st_size <= 4000 + 200
    assert "noisy server answer 399" in path.read_text()


def test_a_log_line_is_one_capped_line(tmp_path):
    path = tmp_path / "cache_warm.log"
    filelog = FileLog(path).open()
    filelog.error("\x1b]0;pwned\x07\x1b[2J" + "A\nB" * 100_000)
    filelog.close()
    text = path.read_text()
    assert text.count("\n") == 1 and "\x1b" not in text and "\x07" not in text
    assert len(text) < 2100


@pytest.mark.skipif(os.getuid() != 0, reason="needs root to give a folder to another user")
def test_a_runtime_folder_owned_by_another_user_is_not_used_and_warming_goes_on(env, emulator):
    run_dir = Path(env["XDG_RUNTIME_DIR"]) / "quota-tray"
    run_dir.mkdir(parents=True)
    os.chown(run_dir, 65534, 65534)

    out = qt(
        env, "run", "--once", "--project", "p", "--endpoint", emulator.url, "--interval", "0.02"
    )

    assert out.returncode == 0, out.stderr
    assert "Traceback" not in out.stderr
    log = (Path(env["XDG_STATE_HOME"]) / "quota-tray" / "log" / "cache_warm.log").read_text()
    assert "control channel unavailable" not in log  # the channel lives beside the lock
    assert list(run_dir.iterdir()) == []


@pytest.mark.parametrize("data", [b"\x00bytes\xff", "text: é 🔥"])
def test_the_one_writer_replaces_a_file_whole_private_and_never_through_a_link(tmp_path, data):
    folder = tmp_path / "ours"
    folder.mkdir()
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    target = folder / "file"
    target.symlink_to(victim)
    old = os.umask(0)
    try:
        safefiles.write_atomic(target, data)
    finally:
        os.umask(old)
    expected = data if isinstance(data, bytes) else data.encode()
    assert not target.is_symlink() and target.read_bytes() == expected
    assert mode(target) == 0o600
    assert victim.read_text() == "precious\n"
    assert [p.name for p in folder.iterdir()] == ["file"]  # no temp file left


def test_the_one_writer_leaves_the_old_file_and_no_temp_when_it_fails(tmp_path):
    target = tmp_path / "file"
    target.write_bytes(b"old")
    with pytest.raises(TypeError):
        safefiles.write_atomic(target, 42)  # type: ignore[arg-type]
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["file"]


def test_a_shared_folder_is_made_private_when_missing_and_else_left_as_it_is(tmp_path):
    made = Path(safefiles.private_dir(tmp_path / "a" / "autostart", shared=True))
    assert mode(made) == 0o700 and mode(made.parent) == 0o700
    existing = tmp_path / "autostart"
    existing.mkdir()
    existing.chmod(0o755)
    safefiles.private_dir(existing, shared=True)
    assert mode(existing) == 0o755
    safefiles.private_dir(existing)  # a folder of our own is tightened
    assert mode(existing) == 0o700
