"""Whether the machines of a launch are there, per region, as the cache keeps Compute's
capacity advice (the project's ``capacity`` list and its ``extras`` outcomes): read beside the
quota verdict, never instead of it. A region without advice says nothing; one where Google does
not offer it says "not offered"; a failed call says nothing here (its lane reports it).
Standard library only; readers tolerate a file without these lists, and junk inside them.
"""

from __future__ import annotations

from dataclasses import dataclass

from trayapp import answers, cache, words

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping
    from typing import Any

    from trayapp.launch.needs import Launch


@dataclass(frozen=True)
class Advice:
    """The latest advice for one launch in one region."""

    region: str
    status: str  # "ok", "unavailable" (not offered there) or "error"
    score: float | None = None
    uptime_s: float | None = None
    zones: tuple[str, ...] = ()
    fetched_at: str | None = None

    def text(self, max_age_s: float | None = None, now: float | None = None) -> str:
        """``likely (0.82), zones us-east4-a, us-east4-b``, ``unlikely (0.12)``, ``not
        offered``; "" when there is nothing to say. Advice older than ``max_age_s`` says its
        age, never as now."""
        if self.status == "unavailable":
            return words.NOT_OFFERED
        said = words.chance(self.score, self.zones) if self.status == "ok" else ""
        age = _age(self.fetched_at, now)
        if said and max_age_s is not None and age is not None and age > max_age_s:
            said += f", advice from {words.ago(age)}"
        return said

    def as_json(self) -> dict[str, Any]:
        """The ``capacity`` of a region in ``show --launch --json``."""
        chance = None
        if self.status == "unavailable":
            chance = words.NOT_OFFERED
        elif self.score is not None:
            chance = words.LIKELY if words.likely(self.score) else words.UNLIKELY
        return {
            "obtainability": self.score,
            "chance": chance,
            "uptime_s": self.uptime_s,
            "zones": list(self.zones),
            "status": self.status,
            "fetched_at": self.fetched_at,
        }


def for_launch(
    snap: cache.Snapshot, project: str, launch: Launch, names: Iterable[str] = ()
) -> dict[str, Advice]:
    """Region -> the advice the cache holds for ``launch`` in ``project``: entries for the
    same machine type, count and provisioning model, whatever launch they were asked for (an
    entry of a launch whose count has since changed is not this one's); the outcomes of calls
    of this launch, or of ``names`` that stand for it, say where advice is not offered."""
    spot = launch.tier == "spot"
    wanted = {launch.name, *names}
    found: dict[str, Advice] = {}
    for entry in _listed(snap, project, "capacity"):
        if not isinstance(entry, dict):
            continue
        same = (
            entry.get("machine_type") == launch.shape.name
            and entry.get("count") == launch.count
            and entry.get("spot") is spot
        )
        if same and (advice := _advice(entry)):
            wanted.add(str(entry.get("launch")))
            found[advice.region] = advice
    for entry in _listed(snap, project, "extras"):  # not offered, said by the call's outcome
        key = entry.get("key") if isinstance(entry, dict) else None
        kind, _, rest = str(key or "").partition(":")
        name, _, region = rest.rpartition(":")
        if kind == "capacity" and name in wanted and entry.get("status") == "unavailable":
            found.setdefault(region, Advice(answers.clean(region, 40), "unavailable"))
    return found


def names_for(body: Mapping[str, Any], launch: Launch) -> list[str]:
    """The ``[[launch]]`` names of a project's entry that launch the same thing as ``launch``."""
    names = []
    for entry in body.get("launches") or ():
        if not isinstance(entry, dict):
            continue
        if (entry.get("shape"), entry.get("count"), entry.get("tier"), entry.get("service")) == (
            launch.shape.name,
            launch.count,
            launch.tier,
            launch.service,
        ):
            names.append(str(entry.get("name")))
    return names


def _listed(snap: cache.Snapshot, project: str, name: str) -> list[Any]:
    body = snap.doc["projects"].get(project)
    found = snap.section(project, name) if isinstance(body, dict) else []
    return found if isinstance(found, list) else []


def _advice(entry: Mapping[str, Any]) -> Advice | None:
    region, status = entry.get("region"), entry.get("status")
    if not isinstance(region, str) or status not in ("ok", "error", "unavailable"):
        return None
    score = entry.get("score")
    score = float(score) if _number(score) and 0 <= score <= 1 else None
    uptime = entry.get("uptime_s")
    zones = entry.get("zones") if isinstance(entry.get("zones"), list) else []
    return Advice(
        answers.clean(region, 40),
        status,
        score,
        float(uptime) if _number(uptime) and uptime >= 0 else None,
        tuple(answers.clean(z, 40) for z in zones[:16] if isinstance(z, str)),
        entry.get("fetched_at") if isinstance(entry.get("fetched_at"), str) else None,
    )


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _age(fetched_at: str | None, now: float | None) -> float | None:
    if fetched_at is None or now is None:
        return None
    try:
        return now - cache.parse_time(fetched_at)
    except (TypeError, ValueError):
        return None
