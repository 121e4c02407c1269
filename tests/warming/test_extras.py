"""The enrichment lane of the warmer: asked at a round's end, each call on its own, never failing
a check, never turning a cycle 💥, written into the cache document before the round is told."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import jsonschema
from fakes import FakeSource, Recorder

from trayapp import cache
from trayapp.sources.base import SourceError
from trayapp.warming.events import EventBus, WarmEvent
from trayapp.warming.extras import Told
from trayapp.warming.plan import build_plan
from trayapp.warming.scheduler import Warmer

SCHEMA = json.loads((Path(__file__).parents[2] / "cache" / "schema.json").read_text())


class Lane:
    """A scripted enrichment: one call per project, its answer (or failure) chosen per call."""

    name = "preferences"
    api = "cloudquotas"

    def __init__(self, *answers: Any, hang: threading.Event | None = None) -> None:
        self.answers = list(answers)
        self.asked: list[str] = []
        self.hang = hang

    def keys(self, state: Any, project: str) -> list[str]:
        return ["preferences"]

    def describe(self, project: str, key: str) -> str:
        return f"{project}/quota requests"

    def ask(self, source: Any, project: str, key: str) -> Any:
        self.asked.append(project)
        if self.hang is not None:
            self.hang.wait(30)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        return answer

    def apply(self, state: Any, project: str, key: str, answer: Any, fetched_at: str) -> list:
        state.extras.keep(project, "requests", answer)
        granted = [e for e in answer if e["state"] == "granted"]
        return [Told(WarmEvent.NOTICE, f"granted {e['id']}", {"reread": True}) for e in granted]


def request(state: str = "pending") -> dict[str, Any]:
    return {
        "name": "projects/p/locations/global/quotaPreferences/x",
        "id": "x",
        "service": "compute.googleapis.com",
        "quota_id": "GPUS-PER-GPU-FAMILY-per-project-region",
        "dimensions": {"region": "r1"},
        "region": "r1",
        "metric": "NVIDIA_H100_GPUS",
        "tier": "on-demand",
        "preferred": 16,
        "granted": 16 if state == "granted" else None,
        "reconciling": state == "pending",
        "state": state,
        "state_detail": None,
        "trace_id": None,
        "created_at": None,
        "updated_at": None,
    }


def make(lane: Lane, **kw: Any) -> tuple[Warmer, Recorder]:
    plan = build_plan(("p",), ("NVIDIA_T4_GPUS",), ("r1", "r2"), "C3_CPUS", ("r1",))
    bus = EventBus()
    rec = Recorder()
    bus.subscribe(rec)
    kw.setdefault("interval_s", 0.02)
    return Warmer(plan, FakeSource(), bus, enrichments=[lane], **kw), rec


def ended(events: list) -> bool:
    return any(e.kind in (WarmEvent.COMPLETE, WarmEvent.INCOMPLETE) for e in events)


def test_an_answer_reaches_the_document_the_round_declares():
    warmer, rec = make(Lane([request()]))
    warmer.start()
    events = rec.wait_for(ended)
    warmer.stop()
    done = next(e for e in events if e.kind is WarmEvent.COMPLETE)
    body = done.snapshot["projects"]["p"]
    assert [r["id"] for r in body["requests"]] == ["x"]
    assert body["extras"][0] | {"fetched_at": None} == {
        "key": "preferences", "status": "ok", "fetched_at": None, "error": None
    }  # fmt: skip
    assert body["extras"][0]["fetched_at"] is not None
    jsonschema.validate(done.snapshot, SCHEMA)
    assert (
        cache.Snapshot(cache.parse(json.dumps(done.snapshot).encode()).doc).section(
            "p", "requests"
        )[0]["state"]
        == "pending"
    )


def test_a_failing_enrichment_fails_no_check_and_is_said_once():
    lane = Lane(SourceError("permission", "p/quota requests: permission denied"))
    warmer, rec = make(lane, rewarm_s=0.2)
    warmer.start()
    events = rec.wait_for(lambda evs: sum(e.kind is WarmEvent.COMPLETE for e in evs) >= 2)
    health = warmer.health()
    warmer.stop()
    assert not any(e.kind is WarmEvent.INCOMPLETE for e in events)  # ✅, not 💥
    notices = [e for e in events if e.kind is WarmEvent.NOTICE]
    assert [n.message for n in notices] == ["p/quota requests: permission denied"]
    assert len(lane.asked) >= 2  # asked again next cycle, said once a run
    done = next(e for e in events if e.kind is WarmEvent.COMPLETE)
    body = done.snapshot["projects"]["p"]
    assert {c["status"] for c in body["checks"]} <= {"ok", "absent"}
    assert body["extras"][0]["status"] == "error"
    assert health["enrichments"][0]["key"] == "preferences"


def test_an_api_not_offered_is_an_answer_not_a_failure():
    lane = Lane(SourceError("not_offered", "p/quota requests: not offered here"))
    warmer, rec = make(lane)
    warmer.start()
    events = rec.wait_for(ended)
    health = warmer.health()
    warmer.stop()
    done = next(e for e in events if e.kind is WarmEvent.COMPLETE)
    assert done.snapshot["projects"]["p"]["extras"][0]["status"] == "unavailable"
    assert health["enrichments"] == []


def test_a_hung_enrichment_ends_at_the_deadline_and_the_round_still_completes():
    hang = threading.Event()
    warmer, rec = make(Lane([request()], hang=hang), fetch_deadline_s=0.3)
    try:
        warmer.start()
        events = rec.wait_for(ended)
    finally:
        hang.set()
        warmer.stop()
    done = next(e for e in events if e.kind is WarmEvent.COMPLETE)
    extra = done.snapshot["projects"]["p"]["extras"][0]
    assert extra["status"] == "error" and "timed out" in extra["error"]
    assert "requests" not in done.snapshot["projects"]["p"]


def test_a_grant_reads_the_checks_again_at_once():
    lane = Lane([request("granted")], [request("granted")])
    warmer, rec = make(lane, rewarm_s=3600)
    warmer.start()
    events = rec.wait_for(
        lambda evs: any(e.kind is WarmEvent.REWARM and e.data["reason"] == "granted" for e in evs)
    )
    warmer.stop()
    assert any(e.message == "granted x" for e in events if e.kind is WarmEvent.NOTICE)


def test_requests_kept_in_the_file_survive_a_restart():
    plan = build_plan(("p",), ("NVIDIA_T4_GPUS",), ("r1",), "C3_CPUS", ("r1",))
    from trayapp.warming.state import WarmState

    state = WarmState(plan)
    state.extras.keep("p", "requests", [request()])
    doc = state.document({"pid": 1, "level": None, "last_batch_ms": None, "paused": False})
    again = WarmState(plan)
    again.seed(cache.parse(json.dumps(doc).encode()))
    assert again.extras.entries("p", "requests") == [request()]


def test_capacity_turned_off_asks_nothing_and_drops_the_advice_kept():
    from trayapp.warming.capacity_lane import CapacityLane
    from trayapp.warming.extra_state import Outcome
    from trayapp.warming.state import WarmState

    state = WarmState(build_plan(("p",), ("NVIDIA_T4_GPUS",), ("r1",), "C3_CPUS", ("r1",)))
    state.extras.keep("p", "capacity", [{"launch": "t4box", "region": "r1", "score": 0.9}])
    state.extras.record("p", "capacity:t4box:r2", Outcome("unavailable"))
    state.extras.record("p", "preferences", Outcome("ok"))
    lane = CapacityLane(enabled=False)
    assert lane.keys(state, "p") == []
    assert state.extras.entries("p", "capacity") == []  # old advice is not shown as today's
    assert list(state.extras.outcomes["p"]) == ["preferences"]  # nor "not offered" there
