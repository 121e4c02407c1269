"""What each launch consumes, per service and tier, written out by hand from the rules in
docs/sources.md ("What a launch consumes")."""

from __future__ import annotations

import pytest

from trayapp.launch.needs import Launch, ingredients
from trayapp.launch.shapes import parse_shape


def consumes(shape, count=1, service="compute", tier="on-demand"):
    """(quota, service, scope, amount) of every ingredient, in order."""
    launch = Launch(shape, parse_shape(shape), count, service, tier)
    return [(n.quota, n.service, n.scope, n.amount) for n in ingredients(launch)]


def test_an_a2_vm_needs_its_gpus_here_and_globally_and_no_cpu_quota():
    assert consumes("a2-highgpu-8g") == [
        ("NVIDIA_A100_GPUS", "compute", "region", 8),
        ("GPUS_ALL_REGIONS", "compute", "global", 8),
    ]


@pytest.mark.parametrize("shape", ["a3-highgpu-8g", "a4-highgpu-8g", "g2-standard-96"])
def test_a3_a4_and_g2_need_no_cpu_quota(shape):
    quotas = [quota for quota, *_ in consumes(shape, 2)]
    assert not [q for q in quotas if "CPUS" in q]


def test_an_n1_vm_needs_its_gpus_and_its_cpus_here_and_globally():
    assert consumes("n1-standard-8+4xT4", count=3) == [
        ("NVIDIA_T4_GPUS", "compute", "region", 12),
        ("CPUS", "compute", "region", 24),
        ("GPUS_ALL_REGIONS", "compute", "global", 12),
        ("CPUS_ALL_REGIONS", "compute", "global", 24),
    ]


def test_a_spot_vm_reads_the_preemptible_quota_first_and_the_standard_one_instead():
    launch = Launch("t4", parse_shape("n1-standard-4+1xT4"), 2, "compute", "spot")
    gpu, cpu, gpus_all, cpus_all = ingredients(launch)
    assert (gpu.quota, gpu.amount) == ("PREEMPTIBLE_NVIDIA_T4_GPUS", 2)
    assert [(r.quota, r.place, r.kind, r.tier, r.instead) for r in gpu.reads] == [
        ("PREEMPTIBLE_NVIDIA_T4_GPUS", "checks", "gpu", "spot", False),
        ("NVIDIA_T4_GPUS", "checks", "gpu", "on-demand", True),
        ("NVIDIA_T4_GPUS", "launch_quotas", "cpu", None, True),
    ]
    assert (cpu.quota, cpu.amount) == ("PREEMPTIBLE_CPUS", 8)
    assert [(r.quota, r.instead) for r in cpu.reads] == [
        ("PREEMPTIBLE_CPUS", False),
        ("CPUS", True),
    ]
    assert (gpus_all.quota, gpus_all.scope, gpus_all.amount) == ("GPUS_ALL_REGIONS", "global", 2)
    assert (cpus_all.quota, cpus_all.scope, cpus_all.amount) == ("CPUS_ALL_REGIONS", "global", 8)


def test_vertex_spot_training_needs_its_gpus_and_the_preemptible_training_cpus():
    assert consumes("a2-highgpu-1g", 2, "vertex", "spot") == [
        ("PREEMPTIBLE_NVIDIA_A100_GPUS", "vertex", "region", 2),
        ("CUSTOM_MODEL_TRAINING_PREEMPTIBLE_CPUS", "vertex", "region", 24),
    ]


def test_vertex_on_demand_training_cpus_are_unknown_by_name_never_guessed():
    launch = Launch("h100", parse_shape("8xH100"), 1, "vertex", "on-demand")
    gpu, cpu = ingredients(launch)
    assert (gpu.quota, gpu.amount, gpu.reads[0].service) == ("NVIDIA_H100_GPUS", 8, "vertex")
    assert (cpu.quota, cpu.amount, cpu.reads) == ("training CPUs", 208, ())
    assert cpu.why_unknown == "no document says which quota"


def test_a_cloud_build_pool_needs_the_c3_build_cpus_of_its_workers():
    assert consumes("c3-standard-88", 2, "cloudbuild") == [
        ("C3_CPUS", "cloudbuild", "region", 176),
    ]


@pytest.mark.parametrize(
    ("shape", "count", "service", "tier", "says"),
    [
        ("a3-highgpu-8g", 1, "cloudbuild", "on-demand", "Cloud Build private pools run c3-"),
        ("c3-standard-8", 1, "compute", "on-demand", "is a Cloud Build pool machine"),
        ("c3-standard-8", 1, "cloudbuild", "spot", "no Spot tier"),
        ("a3-highgpu-8g", 0, "compute", "on-demand", "count must be"),
        ("a3-highgpu-8g", 1, "gke", "on-demand", "unknown service 'gke'"),
        ("a3-highgpu-8g", 1, "compute", "preemptible", "unknown tier 'preemptible'"),
    ],
)
def test_a_launch_that_cannot_be_judged_is_refused_where_it_is_named(
    shape, count, service, tier, says
):
    with pytest.raises(ValueError, match=says):
        Launch(shape, parse_shape(shape), count, service, tier)


def test_a_launch_is_labelled_by_its_shape_and_count_and_its_own_name():
    assert Launch("a3-highgpu-8g", parse_shape("8xH100"), 1).label == "a3-highgpu-8g x1"
    assert Launch("train", parse_shape("8xH100"), 2).label == "train (a3-highgpu-8g x2)"
