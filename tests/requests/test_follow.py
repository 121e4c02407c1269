"""What a quota increase request means to a person: its state from Google's fields, the quota
named by its short name, which requests concern the quotas the app reads, and the lines said
when a request changes state (granted, partly granted, denied, needs Support), never with an
email or a justification."""

from __future__ import annotations

import pytest

from trayapp.sources import preference_states as follow
from trayapp.sources.preferences import Preference

VERTEX_SPOT_H100 = "CustomModelTrainingPreemptibleH100GPUsPerProjectPerRegion"
PLAN = {("aiplatform.googleapis.com", VERTEX_SPOT_H100)}


def pref(
    *,
    reconciling: bool = True,
    preferred: int = 40,
    granted: int | None = 8,
    detail: str = "",
    service: str = "aiplatform.googleapis.com",
    quota_id: str = VERTEX_SPOT_H100,
    dimensions: dict[str, str] | None = None,
    name: str = "projects/p/locations/global/quotaPreferences/asked",
) -> Preference:
    return Preference(
        name,
        service,
        quota_id,
        {"region": "us-central1"} if dimensions is None else dimensions,
        preferred,
        granted,
        reconciling,
        detail,
        "trace-123",
        1_790_000_000.0,
        None,
    )


@pytest.mark.parametrize(
    ("kwargs", "state"),
    [
        ({}, "pending"),
        ({"reconciling": False, "granted": 40}, "granted"),
        ({"reconciling": False, "granted": 64}, "granted"),
        ({"reconciling": False, "granted": -1}, "granted"),
        ({"reconciling": False, "granted": 20}, "partly granted"),
        ({"reconciling": False, "granted": 8, "detail": "Denied: no usage history."}, "denied"),
        ({"reconciling": False, "granted": None}, "denied"),
        ({"reconciling": False, "granted": 0}, "denied"),
        (
            {"reconciling": False, "detail": "Contact Cloud Support, quote the trace"},
            "needs support",
        ),
    ],
)
def test_the_state_of_a_request(kwargs, state):
    assert follow.entry(pref(**kwargs))["state"] == state


def test_the_cache_entry_follows_the_schema():
    entry = follow.entry(pref())
    assert entry == {
        "name": "projects/p/locations/global/quotaPreferences/asked",
        "id": "asked",
        "service": "aiplatform.googleapis.com",
        "quota_id": VERTEX_SPOT_H100,
        "dimensions": {"region": "us-central1"},
        "region": "us-central1",
        "metric": "H100",
        "tier": "spot",
        "preferred": 40,
        "granted": 8,
        "reconciling": True,
        "state": "pending",
        "state_detail": "",
        "trace_id": "trace-123",
        "created_at": "2026-09-21T14:13:20.000+00:00",
        "updated_at": None,
    }


@pytest.mark.parametrize(
    ("service", "quota_id", "dimensions", "label"),
    [
        ("aiplatform.googleapis.com", VERTEX_SPOT_H100, {}, "H100 Spot, Vertex AI training"),
        (
            "aiplatform.googleapis.com",
            "CustomModelTrainingT4GPUsPerProjectPerRegion",
            {},
            "T4, Vertex AI training",
        ),
        (
            "compute.googleapis.com",
            "GPUS-PER-GPU-FAMILY-per-project-region",
            {"gpu_family": "NVIDIA_H100"},
            "H100",
        ),
        (
            "compute.googleapis.com",
            "PREEMPTIBLE-GPUS-PER-GPU-FAMILY-per-project-region",
            {"gpu_family": "NVIDIA_H200"},
            "H200 Spot",
        ),
        ("compute.googleapis.com", "PREEMPTIBLE-NVIDIA-T4-GPUS-per-project-region", {}, "T4 Spot"),
        ("compute.googleapis.com", "C3-CPUS-per-project-region", {}, "C3"),
        ("cloudbuild.googleapis.com", "anything", {}, "C3, Cloud Build private pools"),
        ("storage.googleapis.com", "BUCKETS", {}, "BUCKETS"),
    ],
)
def test_the_quota_is_named_by_its_short_name(service, quota_id, dimensions, label):
    e = follow.entry(pref(service=service, quota_id=quota_id, dimensions=dimensions))
    assert follow.label(e) == label


def test_only_the_quotas_the_app_reads_are_kept():
    mine = pref(name="projects/p/locations/global/quotaPreferences/b")
    other = pref(quota_id="CustomModelTrainingT4GPUsPerProjectPerRegion")
    console = pref(name="projects/p/locations/global/quotaPreferences/a")
    kept = follow.entries([mine, other, console], PLAN)
    assert [e["id"] for e in kept] == ["a", "b"]


def changes_from(old: Preference | None, new: Preference) -> list[follow.Change]:
    return follow.changes([follow.entry(old)] if old else [], [follow.entry(new)])


def test_a_grant_is_said_in_both_voices():
    [change] = changes_from(pref(), pref(reconciling=False, granted=40))
    assert (change.before, change.state) == ("pending", "granted")
    assert change.log == "🎉 H100 Spot, Vertex AI training: granted 40 in us-central1"
    assert change.notice == "Quota granted: H100 Spot, Vertex AI training, 40 in us-central1"


def test_a_partial_grant_says_what_and_why():
    new = pref(reconciling=False, granted=20, detail="Partially approved.")
    [change] = changes_from(pref(), new)
    assert "partly granted 20 of 40 in us-central1" in change.log
    assert change.notice == (
        "Quota partly granted: H100 Spot, Vertex AI training, 20 of 40 in us-central1 "
        "(Partially approved.; trace ID trace-123)"
    )


@pytest.mark.parametrize(
    ("detail", "word"), [("Denied: no history.", "denied"), ("Ask Support.", "Support")]
)
def test_a_refusal_carries_the_detail_and_the_trace(detail, word):
    [change] = changes_from(pref(), pref(reconciling=False, detail=detail))
    for line in (change.log, change.notice):
        assert word in line and detail in line and "trace ID trace-123" in line


def test_a_request_filed_again_is_said_as_under_review_without_a_notice():
    [change] = changes_from(pref(reconciling=False, granted=40), pref(preferred=64))
    assert change.state == "pending" and "asked for 64" in change.log and change.notice == ""


def test_nothing_is_said_when_nothing_changed_or_a_decision_is_old_news():
    assert changes_from(pref(), pref(preferred=48)) == []
    assert changes_from(None, pref(reconciling=False, granted=40)) == []
    [new] = changes_from(None, pref())  # a request seen for the first time, under review
    assert new.before is None and new.notice == ""


def test_no_line_carries_an_email_or_a_justification():
    hostile = pref(reconciling=False, granted=20, detail="mail you@example.com\x1b[2J")
    for change in changes_from(pref(), hostile):
        for line in (change.log, change.notice):
            assert "\x1b" not in line
    assert "justification" not in str(follow.entry(hostile))
    assert "contact" not in str(follow.entry(hostile)).lower()
