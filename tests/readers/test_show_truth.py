"""`show` names the quota a check reads, says "unlimited" and the pool that fits, and never
calls an unknown check "not reported" or "complete"; "nothing known" is its own answer."""

from __future__ import annotations

import json

import pytest
from test_show import entry, qt, write
from userdirs import isolated_env

from trayapp import answers, cache

H100 = "NVIDIA_H100_GPUS"


@pytest.fixture
def env(tmp_path):
    return isolated_env(tmp_path / "home")


def vertex(region, limit, **kw):
    check = entry(region, H100, limit=limit, usage=None, **kw)
    check.update(
        source="cloudquotas",
        service="vertex",
        tier="spot",
        quota_id="CustomModelTrainingPreemptibleH100GPUsPerProjectPerRegion",
        quota_metric="aiplatform.googleapis.com/custom_model_training_preemptible_nvidia_h100_gpus",
    )
    return check


def build(region, limit, *, unlimited=False):
    check = entry(region, "C3_CPUS", limit=limit, usage=None, kind="c3")
    check.update(
        source="cloudquotas",
        service="cloudbuild",
        tier="on-demand",
        quota_id="ConcurrentPrivatePoolC3BuildCpusPerProjectPerRegion",
        quota_metric="cloudbuild.googleapis.com/concurrent_private_pool_c3_build_cpus",
    )
    if unlimited:
        check["unlimited"] = True
    return check


def test_show_names_the_quota_unlimited_and_the_pool(env):
    write(
        env,
        {
            "p": [
                vertex("us-central1", 16.0),
                build("us-central1", 176.0),
                build("us-east1", 20.0),
                build("us-west2", None, unlimited=True),
            ]
        },
    )
    shown = qt(env, "show")
    assert shown.returncode == 0, shown.stderr
    first = shown.stdout.splitlines()[0]
    assert first.endswith(" — GPU: Vertex AI training · Spot; C3: Cloud Build private pools")
    lines = {line.split()[0]: line for line in shown.stdout.splitlines()[2:]}
    assert "fits c3-standard-176" in lines["us-central1"]
    assert "fits c3-standard-8" in lines["us-east1"]  # 20 CPUs: the 22-vCPU machine does not
    assert lines["us-west2"].split()[2:4] == ["unlimited", "unknown"]
    rows = json.loads(qt(env, "show", "--json").stdout)["projects"]["p"]["checks"]
    by = {(r["kind"], r["region"]): r for r in rows}
    gpu = by[("gpu", "us-central1")]
    assert (gpu["service"], gpu["tier"], gpu["quota"]) == (
        "vertex",
        "spot",
        "Vertex AI training · Spot",
    )
    assert gpu["request_url"].startswith(
        "https://console.cloud.google.com/iam-admin/quotas?project=p&service=aiplatform.googleapis.com"
    )
    assert "location=us-central1" in gpu["request_url"]
    assert by[("c3", "us-west2")]["unlimited"] is True
    assert by[("c3", "us-west2")]["largest_pool"] == "c3-standard-176"
    assert by[("c3", "us-east1")]["largest_pool"] == "c3-standard-8"


def test_a_kept_value_whose_refetch_failed_is_not_complete(env, tmp_path):
    path = write(
        env,
        {"p": [entry("us-central1", H100, error="HTTP 503"), entry("us-east1", H100)]},
    )
    body = json.loads(qt(env, "show", "--json").stdout)["projects"]["p"]
    assert body["complete"] is False
    assert body["state"] != "complete"
    assert cache.load(path).is_complete("p") is False


def test_unknown_is_never_not_reported(env):
    disabled = "the Cloud Quotas API is disabled for project p: run gcloud services enable"
    write(
        env,
        {
            "p": [
                entry("us-central1", H100, status="absent", limit=0.0, error=disabled),
                entry("us-east1", H100, status="error", limit=None, usage=None, error=disabled),
                entry("us-west1", H100, status="absent", limit=0.0),
            ]
        },
    )
    shown = qt(env, "show")
    lines = {line.split()[0]: line for line in shown.stdout.splitlines()[2:]}
    assert "not reported" not in lines["us-central1"] and disabled in lines["us-central1"]
    assert disabled in lines["us-east1"]
    assert "not reported" in lines["us-west1"]  # the API answered: it has none there
    checks = cache.load(Path_of(env)).checks("p")
    assert answers.summary_line(H100, checks).startswith("H100 · unknown: ")


def Path_of(env):
    from pathlib import Path

    return Path(env["XDG_CACHE_HOME"]) / "quota-tray" / cache.FILENAME


def test_nothing_known_is_its_own_answer(env):
    why = "no permission cloudquotas.quotas.get on project p: grant the role"
    failed = [
        entry(r, H100, status="error", limit=None, usage=None, error=why)
        for r in ("us-central1", "us-east1")
    ]
    write(env, {"p": failed})
    for args in (("show",), ("show", "--metric", "H100", "--min-free", "8")):
        shown = qt(env, *args)
        assert shown.returncode == 3, args
        assert "nothing known" in shown.stderr and why in shown.stderr
        assert "no check matches" not in shown.stderr
    write(env, {"p": [*failed, entry("us-west1", H100, limit=4.0)]})
    shown = qt(env, "show", "--metric", "H100", "--min-free", "8")
    assert shown.returncode == 1  # something is known, and it has fewer than 8 free
    assert "no check matches" in shown.stderr and "2 of 3 checks are unknown" in shown.stderr
