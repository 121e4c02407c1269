"""Capacity advice from Compute, for each Compute VM launch in each region where it fits quota:
quota says a launch is allowed, advice says whether the machines are there.

One ``advice.capacity`` call per launch and region per cycle, asked once the round's checks are
known (only where the verdict is ``fits`` or ``fits ≤``). A region that no longer fits drops
its advice; a launch that becomes likely where it fits is told once. Vertex AI training and
Cloud Build pools run on Google's machines, not the project's VMs: no advice is asked for them.
Standard library only, like the warmer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from trayapp import words
from trayapp.launch import board
from trayapp.sources import capacity
from trayapp.warming.events import WarmEvent
from trayapp.warming.extras import Told

if TYPE_CHECKING:
    from trayapp.warming.state import WarmState

PREFIX = "capacity"


class CapacityLane:
    """The ``capacity:<launch>:<region>`` calls of a project (none when turned off)."""

    name = PREFIX
    api = "compute"

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled
        self._asks: dict[tuple[str, str], capacity.CapacityRequest] = {}

    def keys(self, state: WarmState, project: str) -> list[str]:
        wanted: dict[str, capacity.CapacityRequest] = {}
        if self.enabled:
            for judged in board.judge_document(state.document({})):
                launch = judged.launch
                if judged.project != project or launch.service != "compute":
                    continue
                machine = launch.shape.name  # an N1 shape with its GPUs: n1-standard-8+4xT4
                for verdict in judged.fitting():
                    key = f"{PREFIX}:{launch.name}:{verdict.region}"
                    spot = launch.tier == "spot"
                    wanted[key] = capacity.CapacityRequest(
                        verdict.region, machine, launch.count, spot
                    )
        kept = [
            e
            for e in state.extras.entries(project, PREFIX)
            if f"{PREFIX}:{e.get('launch')}:{e.get('region')}" in wanted
        ]
        state.extras.keep(project, PREFIX, kept)  # advice where it no longer fits is gone...
        outcomes = state.extras.outcomes.get(project, {})
        for key in [k for k in outcomes if k.startswith(f"{PREFIX}:") and k not in wanted]:
            del outcomes[key]  # ...and so is what its call last did
        self._asks.update({(project, k): r for k, r in wanted.items()})
        return list(wanted)

    def describe(self, project: str, key: str) -> str:
        launch, _, region = key.removeprefix(f"{PREFIX}:").rpartition(":")
        return f"{project}/{region}: capacity advice for {launch}"

    def ask(self, source: Any, project: str, key: str) -> Any:
        return source.fetch_capacity(project, self._asks[(project, key)])

    def apply(
        self, state: WarmState, project: str, key: str, answer: Any, fetched_at: str
    ) -> list[Told]:
        launch, _, region = key.removeprefix(f"{PREFIX}:").rpartition(":")
        asked = self._asks[(project, key)]
        entries = state.extras.entries(project, PREFIX)
        before = next(
            (e for e in entries if e.get("launch") == launch and e.get("region") == region), None
        )
        entry = {
            "launch": launch,
            "region": region,
            "machine_type": asked.machine_type,
            "count": asked.count,
            "spot": asked.spot,
            "score": answer.score,
            "uptime_s": answer.uptime_s,
            "zones": list(answer.zones),
            "fetched_at": fetched_at,
            "status": "ok",
            "error": None,
        }
        others = [e for e in entries if e is not before]
        state.extras.keep(project, PREFIX, [*others, entry])
        was = before is not None and words.likely(before.get("score"))
        if before is None or was or not words.likely(answer.score):
            return []  # first advice is no news; only a change to likely is told
        said = f"{launch} ({asked.machine_type} x{asked.count}) is now likely in {region}"
        return [
            Told(
                WarmEvent.CAPACITY,
                f"🟢 {said} (score {answer.score:.2f}, zones {', '.join(answer.zones) or '?'})",
                {"plain": f"Capacity: {said}", "project": project},
            )
        ]
