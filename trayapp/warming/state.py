"""What the warmer knows about every check, and the cache document made from it.

Old values stay until new ones replace them: a failed re-fetch keeps the last good value.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from trayapp.cache import Snapshot, now_iso
from trayapp.sources.base import RegionQuotas
from trayapp.sources.quota_rule import UNLIMITED, QuotaAnswer
from trayapp.warming.calls import Call, call_of, value_for
from trayapp.warming.extra_state import ExtraState
from trayapp.warming.plan import LAUNCH_KEYS, Plan, QuotaCheck


@dataclass
class CheckState:
    status: str = "pending"  # pending | ok | absent | error
    limit: float | None = None
    usage: float | None = None
    fetched_at: str | None = None
    error: str | None = None
    source: str | None = None  # "compute" (regions.get) or "cloudquotas" (a QuotaInfo)
    service: str = "compute"  # which quota: "compute", "vertex", "cloudbuild"
    tier: str = "on-demand"  # "on-demand" or "spot"
    quota_id: str | None = None  # the QuotaInfo's ID and metric, as the API named them
    quota_metric: str | None = None
    unlimited: bool = False  # a negative Cloud Quotas value: no limit (``limit`` is null)
    eligibility: str | None = None  # may it be raised: "eligible", "fixed", why not; None unknown
    usage_source: str | None = None  # "monitoring": ``usage`` came from Cloud Monitoring...
    usage_at: str | None = None  # ...as of this time (its newest point)
    concurrent: bool | None = None  # the QuotaInfo's isConcurrent: which metric holds its usage


@dataclass
class Cycle:
    id: int
    started_at: str
    started_clock: float  # the warmer's clock, for re-warm timing
    completed: dict[str, str] = field(default_factory=dict)  # project -> when it was done


class WarmState:
    """Check values in plan order, plus the current cycle and which checks it has done."""

    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        order = [*sorted(plan.gpu + plan.c3, key=lambda c: c.kind != "gpu"), *plan.extra]
        self.checks: dict[QuotaCheck, CheckState] = {c: _fresh_state(c) for c in order}
        self.done: set[QuotaCheck] = set()
        # what a check held before its region said "not reported": the family quota may still
        # answer it, and if that call fails the check is unknown, not "not reported"
        self.previous: dict[QuotaCheck, CheckState] = {}
        self.cycle = Cycle(id=0, started_at=now_iso(), started_clock=0.0)
        # other projects of the file this state was seeded from: written back as they were,
        # so a run of one project never drops another's answers (they age to stale)
        self.others: dict[str, Any] = {}
        self.extras = ExtraState()  # what usage, capacity advice and quota requests brought

    def new_cycle(self, clock: float) -> Cycle:
        self.done = set()
        self.previous.clear()
        self.cycle = Cycle(id=self.cycle.id + 1, started_at=now_iso(), started_clock=clock)
        return self.cycle

    def continue_from(self, other: WarmState) -> None:
        """Take over the cycle count of the state this one replaces: ids only ever grow."""
        self.cycle = Cycle(id=other.cycle.id, started_at=now_iso(), started_clock=0.0)

    def apply_region(
        self, project: str, region: str, quotas: RegionQuotas, fetched_at: str
    ) -> list[QuotaCheck]:
        """One region's answer fills every Compute check of that region still open."""
        filled = self.call_checks((project, region))
        for check in filled:
            self.apply_ok(check, quotas, fetched_at)
        return filled

    def apply_call(self, call: Call, answer: QuotaAnswer | None, fetched_at: str) -> None:
        """A QuotaInfo fills every check of ``call`` still open, region by region by the one
        rule; a region no entry applies to (or no such QuotaInfo) is not reported."""
        for check in self.call_checks(call):
            value = None if answer is None else value_for(check, answer)
            self.apply_quota(check, answer, value, fetched_at)

    def call_checks(self, call: Call) -> list[QuotaCheck]:
        """The checks ``call`` answers that are still open this cycle."""
        return [c for c in self.checks if c not in self.done and call_of(c) == call]

    def failed(self) -> list[QuotaCheck]:
        """Checks whose latest attempt failed (their error is set until an answer arrives)."""
        return [c for c, s in self.checks.items() if s.error is not None]

    def reopen(self, checks: list[QuotaCheck]) -> None:
        """Open ``checks`` again for a retry; their projects are not complete meanwhile."""
        for check in checks:
            self.done.discard(check)
            self.cycle.completed.pop(check.project, None)

    def apply_ok(self, check: QuotaCheck, quotas: RegionQuotas, fetched_at: str) -> None:
        state = self.checks[check]
        name = reported_name(check)
        if name in quotas:
            state.status = "ok"
            state.limit, state.usage = quotas[name]
        else:
            self.previous[check] = replace(state)
            state.status, state.limit, state.usage = "absent", 0.0, 0.0
        state.fetched_at, state.error, state.source = fetched_at, None, "compute"
        state.quota_id = state.quota_metric = state.eligibility = None
        state.usage_source = state.usage_at = None  # regions.get gives usage itself
        state.unlimited = False
        self._mark_done(check)

    def apply_quota(
        self, check: QuotaCheck, answer: QuotaAnswer | None, value: float | None, fetched_at: str
    ) -> None:
        """A Cloud Quotas answer: a limit (usage unknown unless Cloud Monitoring said it: that
        reading stays, with its own time), unlimited, or not reported (None)."""
        self.previous.pop(check, None)
        state = self.checks[check]
        if value is None:
            state.status, state.limit, state.usage = "absent", 0.0, 0.0
            state.usage_source = state.usage_at = None
        else:
            state.status = "ok"
            state.usage = state.usage if state.usage_source else None
            state.limit = None if value == UNLIMITED else value
        state.unlimited = value == UNLIMITED
        state.fetched_at, state.error, state.source = fetched_at, None, "cloudquotas"
        state.quota_id = answer.quota_id if answer is not None else None
        state.quota_metric = answer.metric if answer is not None else None
        state.eligibility = answer.eligibility if answer is not None else None
        state.concurrent = getattr(answer, "concurrent", None)
        self._mark_done(check)

    def hold(self, check: QuotaCheck) -> None:
        """Keep an answered check open while the family quota may still answer it."""
        self.done.discard(check)
        self.cycle.completed.pop(check.project, None)

    def release(self, check: QuotaCheck) -> None:
        """A held check stays as regions.get answered it (not reported)."""
        self.previous.pop(check, None)
        self._mark_done(check)

    def fail_held(self, check: QuotaCheck, message: str) -> None:
        """A held check whose family call failed: back to what it held before its region's
        "not reported" (a value from before stays), failed with ``message``."""
        if check in self.previous:
            self.checks[check] = self.previous.pop(check)
        self.apply_error(check, message, final=True)

    def apply_error(self, check: QuotaCheck, message: str, *, final: bool) -> None:
        """Record a failure; a value fetched earlier stays, with its old fetched_at."""
        state = self.checks[check]
        state.error = message
        if state.status in ("pending", "error"):
            state.status, state.limit, state.usage = "error", None, None
        if final:
            self._mark_done(check)

    def _mark_done(self, check: QuotaCheck) -> None:
        self.done.add(check)
        project = check.project
        if all(c in self.done for c in self.checks if c.project == project):
            self.cycle.completed.setdefault(project, now_iso())

    def seed(self, snapshot: Snapshot) -> int:
        """Carry good values over from an earlier run's file, and keep the projects this plan
        does not warm as they are; returns how many checks were carried over."""
        planned = set(self.plan.projects)
        self.others = {p: body for p, body in snapshot.doc["projects"].items() if p not in planned}
        for project in planned & set(snapshot.projects):
            self.extras.seed(project, snapshot.doc["projects"][project])
        known = {(c.project, c.kind, c.region, c.metric, c.service, c.tier): c for c in self.checks}
        seeded = 0
        mine = [p for p in snapshot.projects if p in planned]
        launch = [{"project": p, **e} for p in mine for e in snapshot.launch_quotas(p)]
        for entry in snapshot.checks() + launch:
            key = (
                entry["project"],
                entry["kind"],
                entry["region"] or "global",
                entry["metric"],
                entry.get("service") or "compute",  # a file from before services: Compute
                entry.get("tier") or "on-demand",
            )
            check = known.get(key)
            if check is not None and entry["status"] in ("ok", "absent"):
                source = entry.get("source")
                self.checks[check] = CheckState(
                    entry["status"],
                    entry["limit"],
                    entry["usage"],
                    entry["fetched_at"],
                    None,
                    source if source in ("compute", "cloudquotas") else None,
                    check.service,
                    check.tier,
                    _text(entry.get("quota_id")),
                    _text(entry.get("quota_metric")),
                    entry.get("unlimited") is True,
                    _text(entry.get("eligibility")),
                    *_usage_read(entry),
                )
                seeded += 1
        return seeded

    def counts(self, kind: str) -> tuple[int, int]:
        return sum(c in self.done for c in self.plan.of(kind)), len(self.plan.of(kind))

    @property
    def complete(self) -> bool:
        return len(self.done) == len(self.checks)

    def document(self, warmer: dict[str, Any]) -> dict[str, Any]:
        """Schema 1 of the cache file (see cache/schema.json); a launch's other quotas go in
        ``launch_quotas``, beside the checks, in the same shape, and the launches judged from
        them in ``launches``."""
        projects: dict[str, Any] = {}
        for project in self.plan.projects:
            mine = [c for c in self.checks if c.project == project]
            checks = [c for c in mine if c.kind in ("gpu", "c3")]
            done = sum(c in self.done for c in checks)
            failed = sum(self.checks[c].error is not None for c in checks if c in self.done)
            projects[project] = {
                "cycle": {
                    "id": self.cycle.id,
                    "started_at": self.cycle.started_at,
                    "completed_at": self.cycle.completed.get(project),
                    "done": done,
                    "total": len(checks),
                    "failed": failed,
                },
                "checks": [self._entry(c) for c in checks],
            }
            extra = [self._entry(c) for c in mine if c.kind not in ("gpu", "c3")]
            if extra:
                projects[project]["launch_quotas"] = extra
            if self.plan.launches:
                projects[project]["launches"] = [
                    dict(zip(LAUNCH_KEYS, launch, strict=True)) for launch in self.plan.launches
                ]
            projects[project].update(self.extras.document(project))
        return {
            "schema_version": 1,
            "written_at": now_iso(),
            "warmer": warmer,
            "projects": {**projects, **self.others},
        }

    def _entry(self, check: QuotaCheck) -> dict[str, Any]:
        s = self.checks[check]
        return {
            "kind": check.kind,
            "region": None if check.kind == "global" else check.region,
            "metric": check.metric,
            "status": s.status,
            "limit": s.limit,
            "usage": s.usage,
            "fetched_at": s.fetched_at,
            "error": s.error,
            "source": s.source,
            "service": s.service,
            "tier": s.tier,
            "quota_id": s.quota_id,
            "quota_metric": s.quota_metric,
            "eligibility": s.eligibility,
            **({"unlimited": True} if s.unlimited else {}),
            **({"usage_source": s.usage_source, "usage_at": s.usage_at} if s.usage_source else {}),
        }


def _fresh_state(check: QuotaCheck) -> CheckState:
    return CheckState(service=check.service, tier=check.tier)


def reported_name(check: QuotaCheck) -> str:
    """The metric regions.get reports for a Compute check: ``PREEMPTIBLE_`` for Spot GPUs."""
    if check.kind == "gpu" and check.tier == "spot":
        return f"PREEMPTIBLE_{check.metric}"
    return check.metric


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _usage_read(entry: dict[str, Any]) -> tuple[str | None, str | None]:
    """A usage Cloud Monitoring gave, carried over with its time (else none)."""
    if entry.get("usage_source") == "monitoring" and isinstance(entry.get("usage_at"), str):
        return "monitoring", entry["usage_at"]
    return None, None
