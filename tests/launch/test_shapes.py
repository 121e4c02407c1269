"""The shape table against Google's "GPU machine types" page, row by row, written out by hand
from the page (https://cloud.google.com/compute/docs/gpus), and the ways a shape is named."""

from __future__ import annotations

import pytest

from trayapp.launch import shapes
from trayapp.launch.shapes import parse_shape

# machine type, GPU metric, GPUs, vCPUs: copied from the page's tables, not from the code.
DOCUMENTED = [
    ("a2-highgpu-1g", "NVIDIA_A100_GPUS", 1, 12),
    ("a2-highgpu-2g", "NVIDIA_A100_GPUS", 2, 24),
    ("a2-highgpu-4g", "NVIDIA_A100_GPUS", 4, 48),
    ("a2-highgpu-8g", "NVIDIA_A100_GPUS", 8, 96),
    ("a2-megagpu-16g", "NVIDIA_A100_GPUS", 16, 96),
    ("a2-ultragpu-1g", "NVIDIA_A100_80GB_GPUS", 1, 12),
    ("a2-ultragpu-2g", "NVIDIA_A100_80GB_GPUS", 2, 24),
    ("a2-ultragpu-4g", "NVIDIA_A100_80GB_GPUS", 4, 48),
    ("a2-ultragpu-8g", "NVIDIA_A100_80GB_GPUS", 8, 96),
    ("a3-highgpu-1g", "NVIDIA_H100_GPUS", 1, 26),
    ("a3-highgpu-2g", "NVIDIA_H100_GPUS", 2, 52),
    ("a3-highgpu-4g", "NVIDIA_H100_GPUS", 4, 104),
    ("a3-highgpu-8g", "NVIDIA_H100_GPUS", 8, 208),
    ("a3-megagpu-8g", "NVIDIA_H100_MEGA_GPUS", 8, 208),
    ("a3-ultragpu-8g", "NVIDIA_H200_GPUS", 8, 224),
    ("a4-highgpu-8g", "NVIDIA_B200_GPUS", 8, 224),
    ("g2-standard-4", "NVIDIA_L4_GPUS", 1, 4),
    ("g2-standard-8", "NVIDIA_L4_GPUS", 1, 8),
    ("g2-standard-12", "NVIDIA_L4_GPUS", 1, 12),
    ("g2-standard-16", "NVIDIA_L4_GPUS", 1, 16),
    ("g2-standard-24", "NVIDIA_L4_GPUS", 2, 24),
    ("g2-standard-32", "NVIDIA_L4_GPUS", 1, 32),
    ("g2-standard-48", "NVIDIA_L4_GPUS", 4, 48),
    ("g2-standard-96", "NVIDIA_L4_GPUS", 8, 96),
]


@pytest.mark.parametrize(("name", "metric", "gpus", "vcpus"), DOCUMENTED, ids=str)
def test_every_documented_row(name, metric, gpus, vcpus):
    shape = parse_shape(name)
    assert (shape.name, shape.gpu_metric, shape.gpus, shape.vcpus) == (name, metric, gpus, vcpus)
    assert shape.family == name[:2]
    assert shape.source == "https://cloud.google.com/compute/docs/gpus"
    # A2, A3, A4, G2: "You don't need to request CPU quotas"
    assert shape.consumes_cpu_quota is False


def test_the_table_has_no_row_the_page_does_not():
    assert set(shapes.MACHINES) == {row[0] for row in DOCUMENTED}


@pytest.mark.parametrize(
    ("text", "machine"),
    [
        ("8xH100", "a3-highgpu-8g"),
        ("4xL4", "g2-standard-48"),
        ("8xh200", "a3-ultragpu-8g"),
        ("8 x B200", "a4-highgpu-8g"),
        ("16xA100", "a2-megagpu-16g"),
        ("4xA100-80GB", "a2-ultragpu-4g"),
        ("8xH100_MEGA", "a3-megagpu-8g"),
        ("8×A100", "a2-highgpu-8g"),
        ("  A3-HIGHGPU-8G ", "a3-highgpu-8g"),
    ],
)
def test_a_gpu_count_names_the_one_machine_that_holds_it(text, machine):
    assert parse_shape(text).machine_type == machine


def test_n1_with_attached_gpus_within_the_documented_range():
    shape = parse_shape("n1-standard-8+4xT4")
    assert (shape.name, shape.family) == ("n1-standard-8+4xT4", "n1")
    assert shape.gpu_metric == "NVIDIA_T4_GPUS"
    assert (shape.gpus, shape.vcpus, shape.consumes_cpu_quota) == (4, 8, True)
    assert parse_shape("n1-highmem-96+8xV100").vcpus == 96  # V100 x8: 1 to 96
    assert parse_shape("n1-standard-16+1xP100").gpus == 1  # P100 x1: 1 to 16


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("n1-standard-96+1xV100", "n1-standard-96 has 96 vCPUs; with 1 V100 N1 allows 1 to 12"),
        ("n1-standard-32+1xP100", "with 1 P100 N1 allows 1 to 16"),
        ("n1-standard-64+2xT4", "with 2 T4 N1 allows 1 to 48"),
        ("n1-standard-8+3xT4", "N1 takes 1, 2, 4 T4 GPUs, not 3"),
        ("n1-standard-8+1xL4", "L4 does not attach to N1"),
        ("4xT4", "T4 attaches to N1: name it as n1-standard-8+4xT4"),
        ("1xL4", "g2-standard-4, g2-standard-8, g2-standard-12, g2-standard-16, g2-standard-32"),
        ("3xH100", "no machine type holds 3xH100 (there are 1xH100, 2xH100, 4xH100, 8xH100)"),
        ("n1-standard-8", "n1-standard-8 holds no GPU"),
    ],
)
def test_a_shape_the_documents_do_not_allow_is_refused_saying_why(text, says):
    with pytest.raises(ValueError) as refused:
        parse_shape(text)
    line = str(refused.value)
    assert says in line
    assert "\n" not in line


@pytest.mark.parametrize(
    ("text", "closest"),
    [
        ("a3-higpu-8g", "a3-highgpu-8g"),
        ("a2-ultragpu-4", "a2-ultragpu-4g"),
        ("g2-standart-48", "g2-standard-48"),
        ("8xH1000", "8xH100"),
    ],
)
def test_an_unknown_name_is_refused_in_one_line_with_the_closest(text, closest):
    with pytest.raises(ValueError) as refused:
        parse_shape(text)
    line = str(refused.value)
    assert "did you mean" in line
    assert closest in line
    assert "\n" not in line


def test_hostile_text_is_refused_as_one_clean_line():
    with pytest.raises(ValueError) as refused:
        parse_shape("a3\x1b[31m-highgpu\n" + "x" * 500)
    line = str(refused.value)
    assert "\x1b" not in line
    assert "\n" not in line
    assert len(line) < 200


def test_cloud_build_pool_machines_are_the_pool_sizes():
    assert parse_shape("c3-standard-88").vcpus == 88
    assert parse_shape("c3-standard-176").gpu_metric is None
    with pytest.raises(ValueError, match="c3-standard-22"):
        parse_shape("c3-standard-20")
