"""GPU metric names in config.toml: a typo is caught and the closest known name offered."""

from __future__ import annotations

import pytest

from trayapp.config import ConfigError, from_mapping
from trayapp.sources import compute_metrics as metric_names


def test_the_enum_ships_with_the_package():
    known = metric_names.known_metrics()
    assert len(known) >= 164
    assert {"NVIDIA_T4_GPUS", "PREEMPTIBLE_NVIDIA_H100_GPUS", "C3_CPUS"} <= set(known)
    assert (metric_names.METRICS_FILE.parent / "README.md").is_file()  # its source note


@pytest.mark.parametrize(
    "name",
    [
        "NVIDIA_T4_GPUS",  # in the enum
        "COMMITTED_NVIDIA_A100_GPUS",  # in the enum
        "NVIDIA_H100_GPUS",  # not in the enum, but warmed by default
        "NVIDIA_B200_GPUS",  # the NVIDIA_<X>_GPUS form
        "NVIDIA_H100_MEGA_GPUS",
    ],
)
def test_known_and_well_formed_names_pass(name):
    assert from_mapping({"gpu": {"metrics": [name]}}).gpu_metrics == (name,)


@pytest.mark.parametrize(
    ("name", "full"),
    [
        ("H100", "NVIDIA_H100_GPUS"),  # the short name, as --metric and [[watch]] take it
        ("B200", "NVIDIA_B200_GPUS"),
        ("nvidia_l4_gpus", "NVIDIA_L4_GPUS"),  # any case, as --metric takes it
        ("NVIDIA-L4-GPUS", "NVIDIA_L4_GPUS"),
    ],
)
def test_short_names_and_any_case_mean_the_full_name(name, full):
    assert from_mapping({"gpu": {"metrics": [name]}}).gpu_metrics == (full,)


@pytest.mark.parametrize(
    ("name", "closest"),
    [
        ("NVIDA_H100_GPUS", "NVIDIA_H100_GPUS"),
        ("NVIDIA_T4_GPU", "NVIDIA_T4_GPUS"),
        ("PREEMPTIBLE_NVIDIA_T4_GPU", "PREEMPTIBLE_NVIDIA_T4_GPUS"),
    ],
)
def test_a_typo_is_an_error_naming_the_closest(name, closest):
    with pytest.raises(ConfigError) as caught:
        from_mapping({"gpu": {"metrics": ["NVIDIA_T4_GPUS", name]}})
    message = str(caught.value)
    assert message.startswith(f"gpu.metrics: unknown GPU quota metric {name!r}")
    assert message.endswith(f"did you mean {closest}?")


def test_nothing_close_says_so_without_a_guess():
    with pytest.raises(ConfigError) as caught:
        from_mapping({"gpu": {"metrics": ["QQQ_ZZZ"]}})
    assert "did you mean" not in str(caught.value)
