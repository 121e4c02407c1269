"""The GPU family mapping and the dimension precedence of the family quota."""

from __future__ import annotations

import pytest

from trayapp.sources import compute_family as families
from trayapp.sources.compute_family import family_of, resolve
from trayapp.sources.quota_rule import UNLIMITED


@pytest.mark.parametrize(
    ("metric", "family"),
    [
        ("NVIDIA_H100_GPUS", "NVIDIA_H100"),
        ("NVIDIA_H100_MEGA_GPUS", "NVIDIA_H100_MEGA"),
        ("NVIDIA_H200_GPUS", "NVIDIA_H200"),
        ("NVIDIA_B200_GPUS", "NVIDIA_B200"),
        ("NVIDIA_A100_80GB_GPUS", "NVIDIA_A100_80GB"),
        ("PREEMPTIBLE_NVIDIA_H100_GPUS", None),  # not documented as covered
        ("COMMITTED_NVIDIA_H100_GPUS", None),
        ("C3_CPUS", None),
        ("NVIDIA_GPUS", None),
        ("nvidia_h100_gpus", None),
    ],
)
def test_only_on_demand_gpu_metrics_map_to_a_family(metric: str, family: str | None) -> None:
    assert family_of(metric) == family


ENTRIES = [
    ({}, 1.0),
    ({"gpu_family": "NVIDIA_H100"}, 2.0),
    ({"region": "europe-west4"}, 3.0),
    ({"region": "us-central1", "gpu_family": "NVIDIA_H100"}, 4.0),
    ({"region": "europe-west4", "gpu_family": "NVIDIA_H100"}, 5.0),
]


@pytest.mark.parametrize(
    ("region", "family", "limit"),
    [
        ("us-central1", "NVIDIA_H100", 4.0),  # region + family
        ("europe-west4", "NVIDIA_H100", 5.0),  # region + family beats region only
        ("europe-west4", "NVIDIA_H200", 3.0),  # region only beats the catch-all
        ("us-west1", "NVIDIA_H100", 2.0),  # family only beats the catch-all
        ("us-west1", "NVIDIA_H200", 1.0),  # catch-all
    ],
)
def test_the_most_specific_entry_wins(region: str, family: str, limit: float) -> None:
    assert resolve(ENTRIES, region, family) == limit
    assert resolve(list(reversed(ENTRIES)), region, family) == limit  # order does not matter


def test_no_entry_applies_means_no_answer() -> None:
    entries = [({"region": "us-east1", "gpu_family": "NVIDIA_H100"}, 8.0)]
    assert resolve(entries, "us-west1", "NVIDIA_H100") is None
    assert resolve(entries, "us-east1", "NVIDIA_H200") is None
    assert resolve([], "us-east1", "NVIDIA_H100") is None


def test_entries_with_other_dimensions_give_no_number_and_negative_is_unlimited() -> None:
    assert resolve([({"network_id": "x"}, 8.0)], "us-east1", "NVIDIA_H100") is None
    assert resolve([({}, -1.0)], "us-east1", "NVIDIA_H100") == UNLIMITED


def test_applicable_locations_limit_where_an_entry_applies() -> None:
    entries = [({}, 4.0, ("us-central1",)), ({"gpu_family": "NVIDIA_H100"}, 8.0, ("us-east1",))]
    assert resolve(entries, "us-central1", "NVIDIA_H100") == 4.0  # the family entry: elsewhere
    assert resolve(entries, "us-east1", "NVIDIA_H100") == 8.0
    assert resolve(entries, "us-west1", "NVIDIA_H100") is None


def test_quota_info_name() -> None:
    assert families.quota_info_name("p") == (
        "projects/p/locations/global/services/compute.googleapis.com/quotaInfos/"
        "GPUS-PER-GPU-FAMILY-per-project-region"
    )


def test_region_only_beats_family_only() -> None:
    entries = [({"gpu_family": "NVIDIA_H100"}, 2.0), ({"region": "europe-west4"}, 3.0), ({}, 1.0)]
    assert resolve(entries, "europe-west4", "NVIDIA_H100") == 3.0
    assert resolve(entries[::-1], "europe-west4", "NVIDIA_H100") == 3.0
