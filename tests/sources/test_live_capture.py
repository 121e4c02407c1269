"""A regions.list body captured from the live Compute API (tests/data, from gcpdiag), served
region by region through the emulator: the real client parses exactly its values, and it holds
no H100-class metric, which is why the GPU family quota is asked."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from trayapp.sources.compute import ComputeSource
from trayapp.sources.compute_family import family_of

CAPTURE = Path(__file__).parents[1] / "data" / "gcpdiag-apigee1-compute-regions.json"
BODY = json.loads(CAPTURE.read_text(encoding="utf-8"))
REGIONS = {item["name"]: item for item in BODY["items"]}


@pytest.fixture(scope="module")
def answers():
    from trayapp.emulator.server import Emulator

    with Emulator(captured=REGIONS) as emulator:
        source = ComputeSource(emulator.url, timeout_s=5.0)
        try:
            yield {name: source.fetch("captured-project", name) for name in REGIONS}
        finally:
            source.close()


def test_the_capture_is_what_the_readme_says():
    assert BODY["kind"] == "compute#regionList"
    assert len(REGIONS) == 37
    assert len({q["metric"] for item in BODY["items"] for q in item["quotas"]}) == 101


def test_every_region_parses_to_exactly_its_captured_values(answers):
    for name, item in REGIONS.items():
        expected = {q["metric"]: (float(q["limit"]), float(q["usage"])) for q in item["quotas"]}
        assert answers[name] == expected, name
    limits = [v[0] for quotas in answers.values() for v in quotas.values()]
    assert 9.2233720368547758e18 in limits  # COMMITTED_* "no limit", kept as the API sent it


def test_the_live_api_reports_no_h100_class_metric(answers):
    metrics = {m for quotas in answers.values() for m in quotas}
    assert "NVIDIA_T4_GPUS" in metrics and "NVIDIA_A100_GPUS" in metrics
    for missing in ("NVIDIA_H100_GPUS", "NVIDIA_H100_MEGA_GPUS", "NVIDIA_H200_GPUS"):
        assert missing not in metrics
    families = {family_of(m) for m in metrics} - {None}
    assert "NVIDIA_A100" in families and "NVIDIA_H100" not in families
