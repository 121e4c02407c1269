"""Can I launch? As users run it: a config with [[launch]], `run --once` against the emulator
through the real clients and fetcher, then `show --launch --json` from the cache. Each expected
verdict is written out by hand from what the emulator serves for project ``p-launch`` (its
tables, ``expected_quotas``), with values that make each quota in turn the one that blocks."""

from __future__ import annotations

import json

import launch_docs
import pytest
from launch_docs import PROJECT, REGIONS
from userdirs import headless_env, run_cli


@pytest.fixture
def env(tmp_path):
    return headless_env(tmp_path / "home")


def warm(env, tmp_path, emulator, body):
    """One real cycle of ``body`` in the home ``env`` names (see launch_docs.warm)."""
    launch_docs.warm(tmp_path / "home", emulator, body)


def launch(env, *args):
    out = run_cli(env, "show", "--launch", *args, "--json")
    regions = json.loads(out.stdout)[PROJECT]["regions"] if out.stdout else []
    table = {r["region"]: (r["verdict"], r["blocked_by"], r["unknown"]) for r in regions}
    return out.returncode, table, regions


N1_CONFIG = f"""[gpu]
metrics = ["NVIDIA_T4_GPUS"]
regions = {REGIONS}
[c3]
regions = ["us-central1"]
[[launch]]
shape = "n1-standard-8+4xT4"
count = 2
"""


def test_an_n1_vm_is_blocked_by_its_gpus_or_its_cpus(env, tmp_path, make_emulator):
    warm(env, tmp_path, make_emulator(), N1_CONFIG)
    code, table, regions = launch(env, "n1-standard-8+4xT4", "--count", "2")
    # needs 8 T4, 16 CPUS, 8 GPUS_ALL_REGIONS (64 - 8 free), 16 CPUS_ALL_REGIONS (2400 - 96)
    assert table == {
        "us-central1": ("fits", [], []),  # T4 8 - 0, CPUS 96 - 0
        "europe-west4": ("blocked", ["NVIDIA_T4_GPUS"], []),  # T4 0, CPUS 200 - 0
        "us-east1": ("blocked", ["NVIDIA_T4_GPUS", "CPUS"], []),  # T4 0, CPUS 24 - 18
        "us-west1": ("blocked", ["NVIDIA_T4_GPUS", "CPUS"], []),  # T4 0, CPUS 72 - 62
    }
    assert code == 0
    central = next(r for r in regions if r["region"] == "us-central1")
    assert central["needs"] == [
        {"quota": "NVIDIA_T4_GPUS", "service": "compute", "scope": "region", "need": 8,
         "free": 8, "free_at_most": 8},
        {"quota": "CPUS", "service": "compute", "scope": "region", "need": 16,
         "free": 96, "free_at_most": 96},
        {"quota": "GPUS_ALL_REGIONS", "service": "compute", "scope": "global", "need": 8,
         "free": 56, "free_at_most": 56},
        {"quota": "CPUS_ALL_REGIONS", "service": "compute", "scope": "global", "need": 16,
         "free": 2304, "free_at_most": 2304},
    ]  # fmt: skip
    text = run_cli(env, "show", "--launch", "n1-standard-8+4xT4", "--count", "2").stdout
    assert "blocked by CPUS: 6 free, need 16" in text  # us-east1, said as people read it


def test_a_project_wide_gpu_quota_blocks_every_region_said_once(env, tmp_path, make_emulator):
    emulator = make_emulator(project_quotas={PROJECT: {"GPUS_ALL_REGIONS": (4, 0)}})
    warm(env, tmp_path, emulator, N1_CONFIG)
    code, table, _ = launch(env, "n1-standard-8+4xT4", "--count", "2")
    assert code == 1
    assert table["us-central1"] == ("blocked", ["GPUS_ALL_REGIONS"], [])
    assert all("GPUS_ALL_REGIONS" in blocked for _, blocked, _ in table.values())
    first = run_cli(env, "show", "--launch", "n1-standard-8+4xT4", "--count", "2").stdout
    assert first.splitlines()[0] == (
        f"{PROJECT}: n1-standard-8+4xT4 x2: blocked everywhere by GPUS_ALL_REGIONS: 4 free, need 8"
    )


def test_a_spot_vm_reads_the_preemptible_quotas(env, tmp_path, make_emulator):
    warm(env, tmp_path, make_emulator(), N1_CONFIG.replace("[c3]", "spot = true\n[c3]"))
    code, table, _ = launch(env, "n1-standard-8+4xT4", "--count", "2")
    assert code == 0
    assert table == {  # PREEMPTIBLE_NVIDIA_T4_GPUS and PREEMPTIBLE_CPUS, granted everywhere
        "us-central1": ("fits", [], []),  # 16 - 0 T4, 200 - 94 CPUs
        "us-east1": ("fits", [], []),  # 64 - 0, 200 - 70
        "us-west1": ("blocked", ["PREEMPTIBLE_NVIDIA_T4_GPUS"], []),  # 4 - 0
        "europe-west4": ("blocked", ["PREEMPTIBLE_CPUS"], []),  # 200 - 187
    }


def test_a_vertex_spot_job_is_blocked_by_its_training_cpus(env, tmp_path, make_emulator):
    body = f"""[gpu]
service = "vertex"
spot = true
metrics = ["NVIDIA_H100_GPUS"]
regions = {REGIONS}
[c3]
regions = ["us-central1"]
[[launch]]
shape = "a3-highgpu-8g"
"""
    warm(env, tmp_path, make_emulator(), body)
    code, table, regions = launch(env, "a3-highgpu-8g")
    gpu, cpus = "PREEMPTIBLE_NVIDIA_H100_GPUS", "CUSTOM_MODEL_TRAINING_PREEMPTIBLE_CPUS"
    assert table == {  # 8 H100 and 208 CPUs; Cloud Quotas gives limits only
        "us-central1": ("fits ≤", [], []),  # ≤ 32 GPUs, ≤ 448 CPUs
        "europe-west4": ("blocked", [cpus], []),  # ≤ 48 GPUs, but ≤ 96 CPUs
        "us-east1": ("blocked", [cpus], []),  # ≤ 16 GPUs (the default 8, x2 for Spot), ≤ 48
        "us-west1": ("blocked", [cpus], []),  # ≤ 16 GPUs, ≤ 1 CPU (the default)
    }
    assert code == 0  # fits ≤ is no plain fits, but nothing stops it that is known
    central = next(r for r in regions if r["region"] == "us-central1")
    assert [(n["free"], n["free_at_most"]) for n in central["needs"]] == [(None, 32), (None, 448)]
    _, three, _ = launch(env, "a3-highgpu-8g", "--count", "3")  # 24 GPUs, 624 CPUs
    assert three["us-east1"] == ("blocked", [gpu, cpus], [])
    assert three["europe-west4"] == ("blocked", [cpus], [])  # ≤ 48 GPUs hold 24


def test_a_cloud_build_pool_fits_where_its_c3_cpus_hold_the_machine(env, tmp_path, make_emulator):
    body = """[gpu]
metrics = ["NVIDIA_T4_GPUS"]
regions = ["us-central1"]
[c3]
service = "cloudbuild"
regions = ["us-central1", "us-east4", "us-west2", "southamerica-east1"]
"""
    warm(env, tmp_path, make_emulator(), body)
    code, table, _ = launch(env, "c3-standard-176")
    assert code == 0
    assert table == {  # 176 C3 build CPUs, build_origin=default
        "us-west2": ("fits", [], []),  # unlimited
        "us-central1": ("fits ≤", [], []),  # ≤ 176
        "us-east4": ("blocked", ["C3_CPUS"], []),  # ≤ 44 (the other origin's 500 never counts)
        "southamerica-east1": ("blocked", ["C3_CPUS"], []),  # not offered there
    }


def test_a_launch_that_is_not_warmed_says_what_to_add(env, tmp_path, make_emulator):
    warm(env, tmp_path, make_emulator(), N1_CONFIG)
    out = run_cli(env, "show", "--launch", "a2-highgpu-8g")
    assert out.returncode == 2
    assert out.stderr == (
        "quota-tray: --launch: A100 is not warmed, so a2-highgpu-8g cannot be judged: "
        "add NVIDIA_A100_GPUS to [gpu] metrics\n"
    )
    bad = tmp_path / "bad.toml"
    bad.write_text(N1_CONFIG.replace('shape = "n1-standard-8+4xT4"', 'shape = "a2-highgpu-8g"'))
    refused = run_cli(
        env, "run", "--once", "--config", str(bad), "--endpoint", "http://127.0.0.1:9"
    )
    assert refused.returncode == 2
    assert "launch #1: A100 is not warmed: add NVIDIA_A100_GPUS to [gpu] metrics" in (
        refused.stderr
    )


def test_the_demo_shows_every_verdict(env):
    out = run_cli(
        env, "demo", "--once", "--headless", "--speed", "20", "--launch", "n1-standard-16+4xT4",
        "--project", "demo-project", "--project", "demo-no-gpus",
    )  # fmt: skip
    assert out.returncode == 0, out.stdout + out.stderr
    shown = run_cli(env, "show", "--demo", "--launch", "n1-standard-16+4xT4", "--json")
    body = json.loads(shown.stdout)
    table = {
        (p, r["region"]): (r["verdict"], r["blocked_by"])
        for p, b in body.items()
        for r in b["regions"]
    }
    assert table == {  # 4 T4 and 16 CPUS; what the demo's emulator serves
        ("demo-project", "europe-west4"): ("fits", []),
        ("demo-project", "us-east1"): ("fits", []),
        ("demo-project", "us-west1"): ("blocked", ["NVIDIA_T4_GPUS"]),  # 16 - 16
        ("demo-project", "us-central1"): ("blocked", ["CPUS"]),  # 24 - 15
        ("demo-no-gpus", "europe-west4"): ("blocked", ["GPUS_ALL_REGIONS"]),
        ("demo-no-gpus", "us-east1"): ("blocked", ["GPUS_ALL_REGIONS"]),
        ("demo-no-gpus", "us-central1"): ("blocked", ["NVIDIA_T4_GPUS", "GPUS_ALL_REGIONS"]),
        ("demo-no-gpus", "us-west1"): ("blocked", ["NVIDIA_T4_GPUS", "GPUS_ALL_REGIONS"]),
    }
    refused = run_cli(env, "demo", "--once", "--headless", "--launch", "a4-highgpu-8g")
    assert refused.returncode == 2
    assert "--launch a4-highgpu-8g: B200 is not warmed: add NVIDIA_B200_GPUS to [gpu] metrics" in (
        refused.stderr
    )


def test_the_original_designs_checks_with_two_launches(env):
    out = run_cli(
        env, "demo", "--once", "--headless", "--speed", "20", "--gpu-service", "vertex", "--spot",
        "--c3-service", "cloudbuild", "--launch", "a3-highgpu-8g", "--launch", "c3-standard-176",
    )  # fmt: skip
    assert out.returncode == 0, out.stdout + out.stderr
    assert "- 8 API calls (+" in out.stdout  # 7 as without launches, + the Spot training CPUs
    pool = json.loads(
        run_cli(env, "show", "--demo", "--launch", "c3-standard-176", "--json").stdout
    )
    regions = {r["region"]: r for r in pool["demo-project"]["regions"]}
    assert regions["us-west2"]["verdict"] == "fits"
    assert regions["europe-west4"]["verdict"] == "fits ≤"  # a limit only: no usage point there
    # Cloud Monitoring's usage (88 of 176 in use) makes us-central1's answer exact: blocked
    central = regions["us-central1"]
    assert central["verdict"] == "blocked" and central["needs"][0]["free"] == 88
