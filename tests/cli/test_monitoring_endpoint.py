"""``monitoring_endpoint`` / ``--monitoring-endpoint``: validated, carried to the fetcher's
recipe, and set by the demo to its emulator's Cloud Monitoring."""

from __future__ import annotations

import argparse

import pytest

from trayapp.config import ConfigError, Settings, from_mapping
from trayapp.settings.flags import add_warm_options, demo_settings, settings_from, source_recipe


def parse(*argv):
    parser = argparse.ArgumentParser()
    add_warm_options(parser, float, endpoint=True)
    return parser.parse_args(list(argv))


def test_config_key_is_validated():
    url = "http://127.0.0.1:7/"
    assert from_mapping({"monitoring_endpoint": url}).monitoring_endpoint == url.rstrip("/")
    with pytest.raises(ConfigError, match="monitoring_endpoint must start with http"):
        from_mapping({"monitoring_endpoint": "grpc://x"})


def test_the_flag_reaches_the_recipe(tmp_path):
    (tmp_path / "none.toml").write_text("")
    args = parse(
        "--config",
        str(tmp_path / "none.toml"),
        "--project",
        "p",
        "--monitoring-endpoint",
        "http://127.0.0.1:9",
    )
    args.launch = None
    recipe = source_recipe(settings_from(args))
    assert recipe.monitoring_endpoint == "http://127.0.0.1:9"
    default = source_recipe(Settings(projects=("p",)))
    assert default.monitoring_endpoint is None  # Google's


def test_the_demo_reads_usage_from_its_emulator():
    args = argparse.Namespace(project=None, speed=1.0)
    settings = demo_settings(
        Settings(projects=("p",)), args, "http://127.0.0.1:1", "http://127.0.0.1:2"
    )
    recipe = source_recipe(settings)
    assert (recipe.quotas_endpoint, recipe.monitoring_endpoint) == (
        "http://127.0.0.1:1",
        "http://127.0.0.1:2",
    )
