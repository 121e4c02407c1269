"""Each source fails alone: a failure fails exactly the checks its call answers.

Every pairing of what the GPU and C3 checks read (Compute regions.get, Vertex AI training,
Cloud Build private pools, the Compute GPU family quota), each side failing with 403, 404, 429
and a hung request, through the real google-cloud-compute and google-cloud-quotas clients
against the emulator over loopback HTTP. The side that does not fail is asked, answers, and
reads fresh; the side that fails reads unknown (error), never "not reported".
"""

from __future__ import annotations

import itertools

import pytest
from fakes import Recorder

from trayapp import cache
from trayapp.sources.google import GoogleSource
from trayapp.warming.events import EventBus, WarmEvent
from trayapp.warming.plan import DEFAULT_C3_REGIONS, build_plan
from trayapp.warming.scheduler import Warmer

PROJECT = "proj-lanes"
GPU_REGIONS = ("us-central1", "us-east1")
C3_REGIONS = ("us-central1", "us-east1", "us-west1")

# pairing -> (build_plan keywords, GPU metrics): which API each kind of check reads
PAIRINGS = {
    "compute x vertex": ({"gpu_service": "vertex", "spot": True}, ("NVIDIA_T4_GPUS",)),
    "compute x cloudbuild": ({"c3_service": "cloudbuild"}, ("NVIDIA_T4_GPUS",)),
    "vertex x cloudbuild": (
        {"gpu_service": "vertex", "spot": True, "c3_service": "cloudbuild"},
        ("NVIDIA_T4_GPUS", "NVIDIA_L4_GPUS"),
    ),
    "family x the rest": ({}, ("NVIDIA_T4_GPUS", "NVIDIA_H100_GPUS")),
}
# (pairing, the fault's target, which checks it fails: "gpu", "c3" or "family", the other
# side's target): the other side's first request fails once too, so its calls are still to be
# made (again) after the failure, as they are when a plan has more calls than a tick makes
SIDES = [
    ("compute x vertex", "compute", "c3", "aiplatform"),
    ("compute x vertex", "aiplatform", "gpu", "compute"),
    ("compute x cloudbuild", "compute", "gpu", "cloudbuild"),
    ("compute x cloudbuild", "cloudbuild", "c3", "compute"),
    ("vertex x cloudbuild", "aiplatform", "gpu", "cloudbuild"),
    ("vertex x cloudbuild", "cloudbuild", "c3", "aiplatform"),
    ("family x the rest", "cloudquotas", "family", "compute"),
]
FAULTS = ["403", "404", "429", "hang"]


def _run(emulator, tmp_path, plan):
    bus, rec = EventBus(), Recorder()
    bus.subscribe(cache.CacheWriter(tmp_path / cache.FILENAME))
    bus.subscribe(rec)
    source = GoogleSource(
        emulator.url, emulator.url, timeout_s=5.0, prepare_compute=plan.uses_compute
    )
    warmer = Warmer(
        plan,
        source,
        bus,
        interval_s=0.02,
        backoff_ticks=0,
        retry_first_s=1e9,
        fetch_deadline_s=0.5,
    )
    warmer.start()
    try:
        events = rec.wait_for(
            lambda evs: any(e.kind in (WarmEvent.COMPLETE, WarmEvent.INCOMPLETE) for e in evs),
            timeout=60,
        )
    finally:
        warmer.stop()
        emulator.clear_faults()  # a hung request is let go
    checks = cache.load(tmp_path / cache.FILENAME).checks(PROJECT)
    ends = [e for e in events if e.kind in (WarmEvent.COMPLETE, WarmEvent.INCOMPLETE)]
    return ends, checks


def _failing(check, side):
    if side == "family":
        return check["metric"] == "NVIDIA_H100_GPUS"
    return check["kind"] == side


@pytest.mark.parametrize("fault", FAULTS)
@pytest.mark.parametrize("lane", SIDES, ids=[f"{p}: {t} fails" for p, t, _, _ in SIDES])
def test_a_failure_fails_only_the_checks_its_call_answers(make_emulator, tmp_path, lane, fault):
    pairing, target, side, other = lane
    keywords, metrics = PAIRINGS[pairing]
    plan = build_plan([PROJECT], metrics, GPU_REGIONS, "C3_CPUS", C3_REGIONS, **keywords)
    emulator = make_emulator(faults=[f"{fault}@{target}", f"503@{other}#1"])
    ends, checks = _run(emulator, tmp_path, plan)

    assert ends[-1].kind is WarmEvent.INCOMPLETE
    failing = [c for c in checks if _failing(c, side)]
    others = [c for c in checks if not _failing(c, side)]
    assert failing and others
    for check in failing:  # unknown, never "not reported", never a number
        assert (check["status"], check["limit"]) == ("error", None), check
        assert check["error"]
    for check in others:  # asked, answered, fresh
        assert check["status"] in ("ok", "absent"), check
        assert check["error"] is None and check["fetched_at"], check
    reasons = {c["error"] for c in failing}
    assert all(reason not in str(others) for reason in reasons)


def _between(emulator, same):
    """For each pair of consecutive requests that ``same`` picks: how many other requests the
    emulator served between them."""
    log = emulator.requests()
    at = [i for i, r in enumerate(log) if same(r)]
    return [b - a - 1 for a, b in itertools.pairwise(at)]


@pytest.mark.parametrize(
    "case",
    [
        (  # a Vertex AI call: one GPU type's QuotaInfo
            {"gpu_service": "vertex", "spot": True},
            ("NVIDIA_T4_GPUS", "NVIDIA_L4_GPUS", "NVIDIA_A100_GPUS"),
            C3_REGIONS,
            "aiplatform",
            lambda r: "PreemptibleT4GPUs" in r.path,
        ),
        (  # the Compute GPU family call
            {},
            ("NVIDIA_T4_GPUS", "NVIDIA_H100_GPUS"),
            DEFAULT_C3_REGIONS,  # regions still to ask while the family call fails
            "cloudquotas",
            lambda r: r.region == "cloudquotas",
        ),
    ],
    ids=["vertex", "family"],
)
def test_a_failing_cloud_quotas_call_is_retried_spaced_like_a_region(make_emulator, tmp_path, case):
    keywords, metrics, c3_regions, target, same = case
    plan = build_plan([PROJECT], metrics, GPU_REGIONS, "C3_CPUS", c3_regions, **keywords)
    emulator = make_emulator(faults=[f"503@{target}"])
    ends, _ = _run(emulator, tmp_path, plan)
    assert ends[-1].kind is WarmEvent.INCOMPLETE
    gaps = _between(emulator, same)
    assert len(gaps) == 2  # three attempts in the round
    # the calls queued when it failed had their turn first, as a failed region's retry waits
    # for the checks queued before it (once nothing else is queued, it is asked at once)
    assert gaps[0] >= 2, gaps
