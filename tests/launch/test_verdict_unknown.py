"""What the verdict does not know: a quota known only as a limit is `fits ≤`, never `fits`;
stale, failed, pending, unreported and unread answers are `unknown`, by name."""

from __future__ import annotations

import pytest
from launch_cases import A2_CHECKS, MAX_AGE, NOW, OLD, entry, globals_, launch, table

from trayapp.launch.verdict import judge, summary

# --- only a limit, stale, failed, pending, not read ------------------------------------------


def test_a_launch_that_fits_only_on_a_limit_never_reads_as_plain_fits():
    checks = [entry("gpu", "us-east4", "NVIDIA_H100_GPUS", 8, None)]  # family limit only
    verdicts = judge(launch("a3-highgpu-8g"), checks, globals_(), MAX_AGE, NOW)
    assert [v.verdict for v in verdicts] == ["fits ≤"]
    line = summary(launch("a3-highgpu-8g"), verdicts)
    assert line == "a3-highgpu-8g x1: fits ≤ in us-east4 (if nothing else is running)"
    assert ": fits in" not in line


@pytest.mark.parametrize(
    ("gpu", "why"),
    [
        (entry("gpu", "us-east4", "NVIDIA_A100_GPUS", 16, 0, fetched_at=OLD), "stale"),
        (
            entry(
                "gpu",
                "us-east4",
                "NVIDIA_A100_GPUS",
                None,
                None,
                status="error",
                error="my-project/us-east4: permission denied",
            ),
            "error: permission denied",
        ),
        (entry("gpu", "us-east4", "NVIDIA_A100_GPUS", None, None, status="pending"), "pending"),
    ],
)
def test_stale_failed_and_pending_answers_are_unknown(gpu, why):
    verdicts = judge(launch("a2-highgpu-8g"), [gpu], globals_(), MAX_AGE, NOW)
    assert table(verdicts) == [("us-east4", "unknown", [], ["NVIDIA_A100_GPUS"])]
    assert why in verdicts[0].reasons()[0]
    assert verdicts[0].needs[0]["free"] is None
    assert verdicts[0].needs[0]["free_at_most"] is None


def test_a_region_that_does_not_report_the_gpu_quota_blocks_without_a_number():
    # "not reported": the region answered and has no such quota; never a zero, never unknown
    gpu = entry("gpu", "us-east4", "NVIDIA_A100_GPUS", 0.0, 0.0, status="absent")
    verdicts = judge(launch("a2-highgpu-8g"), [gpu], globals_(), MAX_AGE, NOW)
    assert table(verdicts) == [("us-east4", "blocked", ["NVIDIA_A100_GPUS"], [])]
    assert verdicts[0].reasons() == ["blocked by NVIDIA_A100_GPUS: not reported in this region"]
    assert verdicts[0].needs[0]["free"] is None
    assert verdicts[0].needs[0]["free_at_most"] is None


def test_a_project_wide_quota_that_is_not_reported_is_unknown():
    gpus = [entry("global", None, "GPUS_ALL_REGIONS", 0.0, 0.0, status="absent")]
    verdicts = judge(launch("a2-highgpu-8g"), A2_CHECKS, gpus, MAX_AGE, NOW)
    assert all("GPUS_ALL_REGIONS" in v.unknown for v in verdicts)
    assert "GPUS_ALL_REGIONS unknown (not reported)" in verdicts[0].reasons()


def test_a_stale_or_missing_global_quota_is_unknown_and_a_short_gpu_still_blocks():
    stale = [entry("global", None, "GPUS_ALL_REGIONS", 32, 0, fetched_at=OLD)]
    verdicts = judge(launch("a2-highgpu-8g"), A2_CHECKS, stale, MAX_AGE, NOW)
    assert table(verdicts) == [
        ("us-east4", "unknown", [], ["GPUS_ALL_REGIONS"]),
        ("europe-west4", "unknown", [], ["GPUS_ALL_REGIONS"]),
        ("us-central1", "blocked", ["NVIDIA_A100_GPUS"], ["GPUS_ALL_REGIONS"]),
    ]
    missing = judge(launch("a2-highgpu-8g"), A2_CHECKS, [], MAX_AGE, NOW)
    assert missing[0].reasons() == ["GPUS_ALL_REGIONS unknown (not read)"]
    line = summary(launch("a2-highgpu-8g"), missing)
    assert line == (
        "a2-highgpu-8g x1: unknown in us-east4, europe-west4: GPUS_ALL_REGIONS unknown (not read)"
    )


def test_no_region_answers_the_gpu():
    assert judge(launch("a2-highgpu-8g"), [], globals_(), MAX_AGE, NOW) == []
    assert summary(launch("a2-highgpu-8g"), []) == (
        "a2-highgpu-8g x1: no region has an answer for NVIDIA_A100_GPUS yet"
    )


def test_an_unlimited_quota_fits_whatever_the_usage():
    checks = [entry("c3", "us-west1", "C3_CPUS", None, None, service="cloudbuild", unlimited=True)]
    verdicts = judge(launch("c3-standard-176", 4, "cloudbuild"), checks, [], MAX_AGE, NOW)
    assert table(verdicts) == [("us-west1", "fits", [], [])]
    assert verdicts[0].needs[0]["free_at_most"] is None  # as show --json says unlimited
