"""Cache files that lie: wrong types, times in the future, hostile text, huge files. `show`
answers each with one line and exit 3, or prints inert text; never a traceback."""

from __future__ import annotations

import json

import pytest
from test_show import entry, iso, qt, write

from trayapp import cache
from trayapp.safety.files import private_dir


@pytest.fixture
def env(tmp_path):
    from userdirs import isolated_env

    return isolated_env(tmp_path / "home")


def edited(env, change) -> None:
    """A sample cache with one field changed by ``change(doc)``."""
    path = write(env, {"p": [entry("us-east4", "NVIDIA_H100_GPUS")]})
    doc = json.loads(path.read_text())
    change(doc)
    path.write_text(json.dumps(doc))


def _check(doc):
    return doc["projects"]["p"]["checks"][0]


BAD = {
    "cycle without id": lambda d: d["projects"]["p"]["cycle"].pop("id"),
    "region a number": lambda d: _check(d).update(region=7),
    "metric null": lambda d: _check(d).update(metric=None),
    "limit a string": lambda d: _check(d).update(limit="8"),
    "usage true": lambda d: _check(d).update(usage=True),
    "error a list": lambda d: _check(d).update(error=["x"]),
    "fetched_at not a time": lambda d: _check(d).update(fetched_at="yesterday"),
    "written_at a number": lambda d: d.update(written_at=5),
    "pid a string": lambda d: d["warmer"].update(pid="1"),
    "done a float": lambda d: d["projects"]["p"]["cycle"].update(done=1.5),
}


@pytest.mark.parametrize("what", BAD)
def test_a_field_of_the_wrong_type_is_one_cache_error_and_exit_3(env, what):
    edited(env, BAD[what])
    with pytest.raises(cache.CacheError) as caught:
        cache.load(_path(env))
    assert caught.value.reason == "corrupt"
    for command in (["show"], ["show", "--json"]):
        out = qt(env, *command)
        assert out.returncode == 3, (what, out.stdout, out.stderr)
        assert out.stderr.count("\n") == 1 and "Traceback" not in out.stderr
        assert "corrupt" in out.stderr


def _path(env):
    from pathlib import Path

    return Path(env["XDG_CACHE_HOME"]) / "quota-tray" / cache.FILENAME


def test_an_answer_from_the_future_is_not_fresh(env):
    future = entry("us-east4", "NVIDIA_H100_GPUS", age=-60)
    write(env, {"p": [future]})
    snap = cache.load(_path(env))
    assert not cache.is_fresh(snap.checks("p")[0], 1800, cache.parse_time(iso(0)))
    assert not snap.is_warm("p")
    shown = json.loads(qt(env, "show", "--json").stdout)
    assert shown["projects"]["p"]["checks"][0]["fresh"] is False


def test_a_huge_cache_file_is_refused_without_reading_it_whole(env):
    path = _path(env)
    private_dir(path.parent)
    with path.open("wb") as f:
        f.write(b'{"schema_version": 1, "pad": "')
        f.write(b"x" * (cache.MAX_BYTES + 10))
        f.write(b'"}')
    with pytest.raises(cache.CacheError, match="larger than 8 MB"):
        cache.load(path)
    out = qt(env, "show")
    assert out.returncode == 3 and "larger than 8 MB" in out.stderr


def test_hostile_error_text_in_the_file_is_shown_inert_and_short(env):
    hostile = "\x1b]0;owned\x07\x1b[2J\u202epayload\n" + "<b>x</b>" * 50_000
    write(env, {"p": [entry("us-east4", "NVIDIA_H100_GPUS", "error", None, None, error=hostile)]})
    snap = cache.load(_path(env))
    error = snap.checks("p")[0]["error"]
    assert len(error) <= 300 and "\x1b" not in error and "\u202e" not in error
    out = qt(env, "show")
    assert out.returncode == 3, out.stderr  # nothing known: the one check failed
    assert not any(ch in out.stdout + out.stderr for ch in "\x1b\x07\u202e")
    assert max(len(line) for line in out.stdout.splitlines()) < 400
