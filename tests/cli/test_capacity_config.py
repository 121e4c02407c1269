"""``[capacity] enabled``: on unless turned off, and a bad value refused in one line (exit 2),
like every other key."""

from __future__ import annotations

import pytest
from userdirs import headless_env, run_cli

from trayapp.config import ConfigError, from_mapping


def test_on_unless_turned_off():
    assert from_mapping({}).capacity_enabled is True
    assert from_mapping({"capacity": {}}).capacity_enabled is True
    assert from_mapping({"capacity": {"enabled": False}}).capacity_enabled is False


@pytest.mark.parametrize(
    ("table", "said"),
    [
        ({"enabled": "no"}, "capacity.enabled must be true or false"),
        ({"enabled": 0}, "capacity.enabled must be true or false"),
        ({"enable": True}, "unknown key 'capacity.enable'; did you mean capacity.enabled?"),
    ],
)
def test_a_bad_value_is_one_line(table, said):
    with pytest.raises(ConfigError) as info:
        from_mapping({"capacity": table})
    assert str(info.value) == said


def test_the_command_line_refuses_it(tmp_path):
    config = tmp_path / "config.toml"
    config.write_text('projects = ["p"]\n[capacity]\nenabled = "yes"\n')
    out = run_cli(headless_env(tmp_path / "home"), "run", "--once", "--config", str(config))
    assert out.returncode == 2
    assert out.stderr.splitlines() == [
        f"quota-tray: config {config}: capacity.enabled must be true or false"
    ]
