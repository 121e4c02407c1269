"""Capacity advice as the warmer asks it: `run --once` with `[[launch]]`s through the real
fetcher and AdviceClient against the emulator, then `show --launch --json` carries the score
and zones the emulator gave for that shape, count and provisioning model; a refused advice
call changes no quota answer."""

from __future__ import annotations

import json

import pytest
from userdirs import headless_env, run_cli

from trayapp.emulator import advice

PROJECT = "demo-project"


@pytest.fixture
def env(tmp_path):
    return headless_env(tmp_path / "home")


def warm(env, emulator, *flags):
    done = run_cli(
        env, "run", "--once", "--headless", "--project", PROJECT, "--endpoint", emulator.url,
        "--interval", "0.02", "--launch", "a3-highgpu-8g", *flags,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    shown = run_cli(env, "show", "--launch", "a3-highgpu-8g", "--json")
    return {r["region"]: r for r in json.loads(shown.stdout)[PROJECT]["regions"]}


@pytest.mark.parametrize("spot", [False, True])
def test_the_advice_for_the_shape_count_and_model_reaches_show(env, make_emulator, spot):
    emulator = make_emulator()
    regions = warm(env, emulator, *(["--spot"] if spot else []))
    central = regions["us-central1"]
    assert central["verdict"] in ("fits", "fits ≤")
    said = central["capacity"]
    assert said["obtainability"] == advice.score("us-central1", "a3-highgpu-8g", 1, spot)
    assert said["zones"] and all(z.startswith("us-central1-") for z in said["zones"])
    assert regions["us-east1"]["capacity"]["chance"] == "not offered"
    asked = [r for r in emulator.requests() if r.region == advice.TARGET]
    fitting = [r for r, v in regions.items() if v["verdict"] in ("fits", "fits ≤")]
    assert len(asked) == len(fitting)  # one call per region where it fits quota


def test_a_refused_advice_call_changes_no_quota_answer(env, make_emulator, tmp_path):
    plain = warm(headless_env(tmp_path / "plain"), make_emulator())
    regions = warm(env, make_emulator(faults=["403@advice"]))
    for region, said in regions.items():
        assert said["capacity"] is None or said["capacity"]["status"] != "ok"
        assert (said["verdict"], said["needs"]) == (
            plain[region]["verdict"],
            plain[region]["needs"],
        )
