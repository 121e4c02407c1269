"""The verdict over hand-written cache entries whose values make each quota in turn the one
that blocks (the GPU, N1 CPUs, a global quota, Spot's standard quota, Vertex AI Spot training
CPUs, Cloud Build pool CPUs); every expected verdict and number is worked out by hand."""

from __future__ import annotations

from launch_cases import A2_CHECKS, MAX_AGE, NOW, entry, globals_, launch, table

from trayapp.launch.verdict import judge, summary


def test_each_region_fits_fits_at_most_or_is_blocked_by_the_gpu_best_first():
    a2_cpus_zero = [entry("cpu", r, "A2_CPUS", 0, 0) for r in ("us-east4", "us-central1")]
    quotas = [*globals_(), *a2_cpus_zero]  # A2 consumes no CPU quota: 0 A2_CPUS stops nothing
    verdicts = judge(launch("a2-highgpu-8g"), A2_CHECKS, quotas, MAX_AGE, NOW)
    assert table(verdicts) == [
        ("us-east4", "fits", [], []),
        ("europe-west4", "fits ≤", [], []),
        ("us-central1", "blocked", ["NVIDIA_A100_GPUS"], []),
    ]
    assert verdicts[0].needs == [
        {
            "quota": "NVIDIA_A100_GPUS",
            "service": "compute",
            "scope": "region",
            "need": 8,
            "free": 16,
            "free_at_most": 16,
        },
        {
            "quota": "GPUS_ALL_REGIONS",
            "service": "compute",
            "scope": "global",
            "need": 8,
            "free": 32,
            "free_at_most": 32,
        },
    ]
    assert verdicts[1].needs[0]["free"] is None  # only the limit is known
    assert verdicts[1].needs[0]["free_at_most"] == 8
    assert verdicts[2].reasons() == ["blocked by NVIDIA_A100_GPUS: 4 free, need 8"]
    assert summary(launch("a2-highgpu-8g"), verdicts) == "a2-highgpu-8g x1: fits in us-east4"


def test_a_short_global_quota_blocks_every_region_and_is_said_once():
    verdicts = judge(launch("a2-highgpu-8g"), A2_CHECKS, globals_(gpus=(0, 0)), MAX_AGE, NOW)
    assert [v.verdict for v in verdicts] == ["blocked"] * 3
    assert all("GPUS_ALL_REGIONS" in v.blocked_by for v in verdicts)
    line = summary(launch("a2-highgpu-8g"), verdicts)
    assert line == "a2-highgpu-8g x1: blocked everywhere by GPUS_ALL_REGIONS: 0 free, need 8"
    assert line.count("GPUS_ALL_REGIONS") == 1


def test_n1_cpus_block_where_the_gpus_would_fit():
    checks = [
        entry("gpu", "us-east1", "NVIDIA_T4_GPUS", 16, 0),
        entry("gpu", "us-west1", "NVIDIA_T4_GPUS", 16, 0),
    ]
    quotas = [
        *globals_(),
        entry("cpu", "us-east1", "CPUS", 96, 40),  # 56 free, need 2 x 32 = 64
        entry("cpu", "us-west1", "CPUS", 200, 100),  # 100 free
    ]
    verdicts = judge(launch("n1-standard-32+4xT4", 2), checks, quotas, MAX_AGE, NOW)
    assert table(verdicts) == [
        ("us-west1", "fits", [], []),
        ("us-east1", "blocked", ["CPUS"], []),
    ]
    assert verdicts[1].reasons() == ["blocked by CPUS: 56 free, need 64"]
    assert [n["quota"] for n in verdicts[0].needs] == [
        "NVIDIA_T4_GPUS",
        "CPUS",
        "GPUS_ALL_REGIONS",
        "CPUS_ALL_REGIONS",
    ]


def test_a_short_cpus_all_regions_blocks_n1_everywhere():
    checks = [entry("gpu", "us-east1", "NVIDIA_T4_GPUS", 16, 0)]
    quotas = [*globals_(cpus=(24, 20)), entry("cpu", "us-east1", "CPUS", 96, 0)]
    verdicts = judge(launch("n1-standard-8+1xT4"), checks, quotas, MAX_AGE, NOW)
    assert table(verdicts) == [("us-east1", "blocked", ["CPUS_ALL_REGIONS"], [])]
    assert summary(launch("n1-standard-8+1xT4"), verdicts) == (
        "n1-standard-8+1xT4 x1: blocked everywhere by CPUS_ALL_REGIONS: 4 free, need 8"
    )


# --- Compute Spot: the preemptible quota where granted, else the standard one ----------------


def test_spot_reads_the_preemptible_quota_where_granted_and_the_standard_one_elsewhere():
    checks = [
        entry("gpu", "us-east1", "NVIDIA_T4_GPUS", 4, 0, tier="spot"),  # preemptible granted
        entry("gpu", "us-west1", "NVIDIA_T4_GPUS", None, None, tier="spot", status="absent"),
        entry("gpu", "us-central1", "NVIDIA_T4_GPUS", None, None, tier="spot", status="absent"),
    ]
    quotas = [
        *globals_(),
        entry("cpu", "us-east1", "NVIDIA_T4_GPUS", 0, 0),  # standard 0: not read where spot is
        entry("cpu", "us-west1", "NVIDIA_T4_GPUS", 0, 0),  # standard 0: blocks
        entry("cpu", "us-central1", "NVIDIA_T4_GPUS", 8, 2),  # standard, 6 free
        entry("cpu", "us-east1", "PREEMPTIBLE_CPUS", 16, 0),
        entry("cpu", "us-east1", "CPUS", 0, 0),  # not read: preemptible CPUs are granted
        entry("cpu", "us-west1", "PREEMPTIBLE_CPUS", None, None, status="absent"),
        entry("cpu", "us-west1", "CPUS", 100, 0),
        entry("cpu", "us-central1", "PREEMPTIBLE_CPUS", None, None, status="absent"),
        entry("cpu", "us-central1", "CPUS", 4, 0),  # 4 free, need 8
    ]
    spot = launch("n1-standard-8+1xT4", tier="spot")
    verdicts = judge(spot, checks, quotas, MAX_AGE, NOW)
    assert table(verdicts) == [
        ("us-east1", "fits", [], []),
        ("us-west1", "blocked", ["NVIDIA_T4_GPUS"], []),
        ("us-central1", "blocked", ["CPUS"], []),
    ]
    east = {n["quota"]: n["free"] for n in verdicts[0].needs}
    assert east == {
        "PREEMPTIBLE_NVIDIA_T4_GPUS": 4,
        "PREEMPTIBLE_CPUS": 16,
        "GPUS_ALL_REGIONS": 32,
        "CPUS_ALL_REGIONS": 1000,
    }
    assert verdicts[1].reasons() == ["blocked by NVIDIA_T4_GPUS: 0 free, need 1"]
    assert verdicts[2].reasons() == ["blocked by CPUS: 4 free, need 8"]


def test_spot_without_an_answer_for_the_preemptible_quota_is_unknown_not_standard():
    checks = [
        entry(
            "gpu",
            "us-east1",
            "NVIDIA_T4_GPUS",
            None,
            None,
            tier="spot",
            status="error",
            error="us-east1: 503 unavailable",
        )
    ]
    quotas = [
        *globals_(),
        entry("cpu", "us-east1", "NVIDIA_T4_GPUS", 8, 0),
        entry("cpu", "us-east1", "PREEMPTIBLE_CPUS", 16, 0),
        entry("cpu", "us-west1", "NVIDIA_T4_GPUS", 8, 0),  # no Spot check in us-west1 at all
        entry("cpu", "us-west1", "PREEMPTIBLE_CPUS", 16, 0),
    ]
    verdicts = judge(launch("n1-standard-8+1xT4", tier="spot"), checks, quotas, MAX_AGE, NOW)
    assert table(verdicts) == [
        ("us-east1", "unknown", [], ["PREEMPTIBLE_NVIDIA_T4_GPUS"]),
        ("us-west1", "unknown", [], ["PREEMPTIBLE_NVIDIA_T4_GPUS"]),
    ]
    assert verdicts[1].reasons() == ["PREEMPTIBLE_NVIDIA_T4_GPUS unknown (not read)"]


# --- Vertex AI training ----------------------------------------------------------------------


def test_vertex_spot_training_cpus_block_with_gpu_quota_to_spare():
    checks = [
        entry("gpu", "us-central1", "NVIDIA_A100_GPUS", 16, None, service="vertex", tier="spot"),
        entry("gpu", "europe-west4", "NVIDIA_A100_GPUS", 16, None, service="vertex", tier="spot"),
        entry("gpu", "europe-west4", "NVIDIA_A100_GPUS", 0, 0),  # Compute's: not read
        entry("gpu", "us-east1", "NVIDIA_A100_GPUS", 64, None, service="vertex"),  # on-demand
        entry("gpu", "us-east1", "NVIDIA_A100_GPUS", 0, None, service="vertex", tier="spot"),
    ]
    cpus = "CUSTOM_MODEL_TRAINING_PREEMPTIBLE_CPUS"
    quotas = [
        entry("vertex_cpu", "us-central1", cpus, 1, None, service="vertex", tier="spot"),
        entry("vertex_cpu", "europe-west4", cpus, 64, None, service="vertex", tier="spot"),
        entry("vertex_cpu", "us-east1", cpus, 64, None, service="vertex", tier="spot"),
    ]
    job = launch("a2-highgpu-1g", 2, "vertex", "spot")
    verdicts = judge(job, checks, quotas, MAX_AGE, NOW)
    assert table(verdicts) == [
        ("europe-west4", "fits ≤", [], []),
        ("us-east1", "blocked", ["PREEMPTIBLE_NVIDIA_A100_GPUS"], []),
        ("us-central1", "blocked", [cpus], []),
    ]
    assert verdicts[1].reasons() == ["blocked by PREEMPTIBLE_NVIDIA_A100_GPUS: 0 free, need 2"]
    assert verdicts[2].reasons() == [f"blocked by {cpus}: ≤ 1 free, need 24"]
    assert summary(job, verdicts) == (
        "a2-highgpu-1g x2: fits ≤ in europe-west4 (if nothing else is running)"
    )


def test_vertex_on_demand_training_cpus_leave_the_verdict_unknown_by_name():
    checks = [entry("gpu", "us-central1", "NVIDIA_H100_GPUS", 16, None, service="vertex")]
    verdicts = judge(launch("8xH100", 1, "vertex"), checks, [], MAX_AGE, NOW)
    assert table(verdicts) == [("us-central1", "unknown", [], ["training CPUs"])]
    assert verdicts[0].reasons() == ["training CPUs unknown (no document says which quota)"]
    assert verdicts[0].needs[1]["free"] is None
    assert verdicts[0].needs[1]["need"] == 208


# --- Cloud Build private pools ---------------------------------------------------------------


def test_a_pool_machine_fits_only_within_the_c3_build_cpu_limit():
    checks = [
        entry("c3", "us-east1", "C3_CPUS", 500, 0),  # Compute's C3: not a pool quota
        entry("c3", "us-central1", "C3_CPUS", 176, None, service="cloudbuild"),
        entry("c3", "us-east1", "C3_CPUS", 44, None, service="cloudbuild"),  # smaller than 88
    ]
    pool = launch("c3-standard-88", 1, "cloudbuild")
    verdicts = judge(pool, checks, [], MAX_AGE, NOW)
    assert table(verdicts) == [
        ("us-central1", "fits ≤", [], []),
        ("us-east1", "blocked", ["C3_CPUS"], []),
    ]
    assert verdicts[1].reasons() == ["blocked by C3_CPUS: ≤ 44 free, need 88"]


def test_blocked_everywhere_by_regional_quotas_names_the_closest_region_once():
    checks = [
        entry("gpu", "us-central1", "NVIDIA_A100_GPUS", 8, 4),  # 4 free, need 8
        entry("gpu", "us-east4", "NVIDIA_A100_GPUS", 8, 2),  # 6 free, need 8
        entry("gpu", "us-west1", "NVIDIA_A100_GPUS", 0, 0),
    ]
    verdicts = judge(launch("a2-highgpu-8g"), checks, globals_(), MAX_AGE, NOW)
    assert [v.region for v in verdicts] == ["us-east4", "us-central1", "us-west1"]
    assert summary(launch("a2-highgpu-8g"), verdicts) == (
        "a2-highgpu-8g x1: blocked everywhere: us-east4 by NVIDIA_A100_GPUS: 6 free, need 8; "
        "2 more regions blocked"
    )
