"""A corrupt cache says that the next warm replaces it; the run that sets it aside says so on
the terminal as well as in the log."""

from __future__ import annotations

from pathlib import Path

import pytest
from userdirs import headless_env, run_cli

from trayapp import cache

BROKEN = {
    "corrupt": '{"schema_version": 1, "written_at": "trunc',
    "schema": '{"schema_version": 7}',
}
SAID = {"corrupt": "quota cache is corrupt", "schema": "quota cache has another format"}


@pytest.fixture
def env(tmp_path):
    return headless_env(tmp_path / "home")


def cache_file(env) -> Path:
    return Path(env["XDG_CACHE_HOME"]) / "quota-tray" / cache.FILENAME


@pytest.mark.parametrize("reason", ["corrupt", "schema"])
def test_show_says_the_next_warm_replaces_a_broken_cache(env, reason):
    path = cache_file(env)
    path.parent.mkdir(parents=True)
    path.write_text(BROKEN[reason])
    out = run_cli(env, "show")
    assert out.returncode == 3
    assert f"{SAID[reason]}: {path}" in out.stderr
    assert "the next warm replaces it" in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("reason", ["corrupt", "schema"])
def test_the_run_that_sets_it_aside_says_so_on_the_terminal(env, emulator, reason):
    path = cache_file(env)
    path.parent.mkdir(parents=True)
    path.write_text(BROKEN[reason])
    out = run_cli(
        env, "run", "--once", "--project", "p", "--endpoint", emulator.url, "--interval", "0.05"
    )
    assert out.returncode == 0, out.stderr
    [aside] = path.parent.glob(cache.FILENAME + ".bad-*")
    said = [line for line in out.stderr.splitlines() if "set aside" in line]
    assert len(said) == 1
    assert SAID[reason] in said[0] and f"set aside as {aside.name}, starting afresh" in said[0]
    assert "the next warm replaces it" not in said[0]  # this run is the one replacing it
    assert cache.load(path).is_complete("p")


@pytest.fixture
def emulator(make_emulator):
    return make_emulator()
