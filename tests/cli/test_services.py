"""Which quota the checks read, as users choose it: config keys, flags, and the demo warming
the original design's 38 checks (Vertex AI training Spot GPUs, Cloud Build private pool C3)."""

from __future__ import annotations

import json

import pytest
from userdirs import headless_env, run_cli

from trayapp.config import ConfigError, Settings, from_mapping


@pytest.fixture
def env(tmp_path):
    return headless_env(tmp_path / "home")


def test_the_original_designs_checks_in_four_lines_of_config():
    settings = from_mapping(
        {"gpu": {"service": "vertex", "spot": True}, "c3": {"service": "cloudbuild"}}
    )
    plan = settings.with_overrides(projects=["p"]).plan()
    assert len(plan) == 38 and not plan.uses_compute
    assert {(c.service, c.tier) for c in plan.gpu} == {("vertex", "spot")}
    assert {(c.service, c.tier, c.metric) for c in plan.c3} == {
        ("cloudbuild", "on-demand", "C3_CPUS")
    }
    default = Settings().with_overrides(projects=["p"]).plan()
    assert default.uses_compute and {c.service for c in default.gpu} == {"compute"}


@pytest.mark.parametrize(
    ("data", "words"),
    [
        ({"gpu": {"service": "vertx"}}, "gpu.service must be one of compute, vertex"),
        ({"c3": {"service": "vertex"}}, "c3.service must be one of compute, cloudbuild"),
        ({"gpu": {"spot": "yes"}}, "gpu.spot must be true or false"),
        (
            {"gpu": {"spot": True, "metrics": ["PREEMPTIBLE_NVIDIA_T4_GPUS"]}},
            "name GPUs as NVIDIA_<X>_GPUS",
        ),
        ({"gpu": {"service": "vertex", "metrics": ["CPUS"]}}, "name GPUs as NVIDIA_<X>_GPUS"),
        ({"c3": {"service": "cloudbuild", "metric": "C2_CPUS"}}, "c3.metric must be C3_CPUS"),
    ],
)
def test_bad_service_settings_are_one_line(data, words):
    with pytest.raises(ConfigError, match=words.replace("<", ".").replace(">", ".")):
        from_mapping(data)


def test_a_bad_flag_value_is_bad_usage(env):
    out = run_cli(env, "run", "--once", "--project", "p", "--gpu-service", "gke")
    assert out.returncode == 2 and "invalid choice: 'gke'" in out.stderr


def test_the_demo_warms_the_original_designs_checks_with_quota_on_each_side(env):
    out = run_cli(
        env,
        "demo",
        "--gpu-service",
        "vertex",
        "--spot",
        "--c3-service",
        "cloudbuild",
        "--headless",
        "--once",
        "--speed",
        "20",
    )
    assert out.returncode == 0, out.stderr
    assert "CACHE_WARM_COMPLETE" in out.stdout
    shown = run_cli(env, "show", "--demo", "--json")
    assert shown.returncode == 0, shown.stderr
    body = json.loads(shown.stdout)["projects"]["demo-project"]
    checks = body["checks"]
    assert len(checks) == 38 and body["complete"] is True
    gpu = [c for c in checks if c["kind"] == "gpu"]
    c3 = [c for c in checks if c["kind"] == "c3"]
    assert {(c["service"], c["tier"], c["quota"]) for c in gpu} == {
        ("vertex", "spot", "Vertex AI training · Spot")
    }
    assert all(c["quota_id"].startswith("CustomModelTrainingPreemptible") for c in gpu)
    assert {c["service"] for c in c3} == {"cloudbuild"}
    assert any((c["limit"] or 0) > 0 for c in gpu)  # quota found on the GPU side
    assert "c3-standard-176" in {c["largest_pool"] for c in c3}  # a region holds the pool
    assert all(c["error"] is None for c in checks)
    text = run_cli(env, "show", "--demo", "--metric", "H100").stdout
    assert text.splitlines()[0].endswith(" — GPU: Vertex AI training · Spot")
