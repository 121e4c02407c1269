"""The cache's additive per-project ``launches``: written by the real warmer as schema.json says,
read back by ``cache.load``, refused when of the wrong type, and left out by ``show``."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from launch_docs import COMPUTE, PLAIN, PROJECT, warm
from userdirs import run_cli

from trayapp import cache

SCHEMA = json.loads((Path(__file__).parents[2] / "cache" / "schema.json").read_text())


def test_the_launches_are_written_as_the_schema_says(tmp_path, make_emulator):
    _, path = warm(tmp_path / "home", make_emulator(), COMPUTE)
    doc = json.loads(path.read_text())
    jsonschema.validate(doc, SCHEMA)
    assert doc["projects"][PROJECT]["launches"] == [
        {"name": "t4box", "shape": "n1-standard-8+4xT4", "count": 2, "service": "compute",
         "tier": "on-demand"},
        {"name": "n1-standard-8+4xT4", "shape": "n1-standard-8+4xT4", "count": 3,
         "service": "compute", "tier": "on-demand"},
    ]  # fmt: skip
    assert cache.load(path).doc == doc
    doc["projects"][PROJECT]["launches"][0]["count"] = "2"
    with pytest.raises(cache.CacheError, match="count is not an integer"):
        cache.parse(json.dumps(doc).encode())
    doc["projects"][PROJECT]["launches"] = {"name": "t4box"}
    with pytest.raises(cache.CacheError, match="launches that are not a list"):
        cache.parse(json.dumps(doc).encode())


def test_show_without_launch_prints_what_it_did(tmp_path, make_emulator):
    emulator = make_emulator()
    with_launches, _ = warm(tmp_path / "a", emulator, COMPUTE)
    plain, path = warm(tmp_path / "b", emulator, PLAIN)
    assert "launches" not in json.loads(path.read_text())["projects"][PROJECT]
    shown = [run_cli(env, "show").stdout for env in (with_launches, plain)]
    assert shown[0] == shown[1]
    assert "t4box" not in shown[0] and "fits" not in shown[0]
