"""Watch rules: "tell me when 8 H100 are free", said once when a region starts to meet it.

A rule is met in a region when the latest answer there has at least ``min_free`` free (or, for
a family quota whose usage is unknown, a limit that high: the alert then says "a limit of N
(usage unknown)", never "N free"). Rules are evaluated when a cycle ends (complete, or
incomplete with some checks failed), so the first cycle announces every region that meets a
rule, and a region is announced again only after a cycle in which it did not. A rule added by a
reload is judged at once against the latest cache document, not at the next cycle's end.
Standard library only; no threads: the observer hands alerts to whoever listens.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from trayapp import answers
from trayapp.launch import board
from trayapp.launch.verdict import FITS, IF_NOTHING_ELSE
from trayapp.sources import quota_names
from trayapp.warming.events import Event, WarmEvent


@dataclass(frozen=True)
class WatchRule:
    """``[[watch]]`` in config.toml; ``metric`` is the full name, ``regions`` empty = all."""

    metric: str
    min_free: float
    regions: tuple[str, ...] = ()
    launch: str = ""  # a [[launch]] name instead: met where it fits (metric, min_free unused)

    def describe(self) -> str:
        if self.launch:
            return f"launch {self.launch}"
        where = f" in {', '.join(self.regions)}" if self.regions else ""
        return f"{_number(self.min_free)} × {answers.short_name(self.metric)}{where}"

    def as_json(self) -> dict[str, Any]:
        if self.launch:
            return {"launch": self.launch}
        return {"metric": self.metric, "min_free": self.min_free, "regions": list(self.regions)}


@dataclass(frozen=True)
class Hit:
    """A region meeting a rule: ``free`` exactly, or at most (``exact`` False)."""

    rule: WatchRule
    project: str
    region: str
    free: float
    exact: bool
    quota: str = ""  # "H100 Spot, Vertex AI training"; "" for the GPU alone (Compute VMs)
    verdict: str = ""  # a launch rule's: "fits" or "fits ≤" (quota then holds the launch)

    def as_json(self) -> dict[str, Any]:
        if self.verdict:
            return {"project": self.project, "region": self.region, "verdict": self.verdict}
        return {
            "project": self.project,
            "region": self.region,
            "free": None if self.free == float("inf") else self.free,  # unlimited: JSON has no inf
            "exact": self.exact,
        }


def hits(
    rules: Sequence[WatchRule],
    checks: Iterable[dict[str, Any]],
    doc: Mapping[str, Any] | None = None,
) -> list[Hit]:
    """Every (rule, project, region) met by ``checks`` (entries carrying their ``project``),
    most free first within a rule; a launch rule by the launches ``doc`` judges, where they
    fit, best first."""
    rows = list(checks)
    found: list[Hit] = []
    judged = board.judge_document(doc) if doc and any(r.launch for r in rules) else []
    for rule in rules:
        if rule.launch:
            found += [
                Hit(rule, j.project, v.region, 0.0, v.verdict == FITS, j.launch.label, v.verdict)
                for j in judged
                if j.launch.name == rule.launch
                for v in j.fitting()
            ]
            continue
        matched = answers.select(
            rows, metrics=[rule.metric], regions=rule.regions, min_free=rule.min_free
        )
        for check in matched:
            bound = answers.free_bound(check)
            if bound is not None:
                short = answers.short_name(rule.metric)
                label = quota_names.short_label(check, short)
                where = (check.get("project", ""), check["region"])
                found.append(Hit(rule, *where, *bound, "" if label == short else label))
    return found


class WatchAlerts:
    """The observer: on each COMPLETE, works out which regions newly meet a rule and tells
    ``listeners`` (each called with the new hits, grouped by rule, never empty)."""

    def __init__(self, rules: Sequence[WatchRule] = ()) -> None:
        self._lock = threading.Lock()
        self._rules = tuple(rules)
        self._met: dict[tuple[WatchRule, str, str], Hit] = {}
        self._latest: dict[str, Any] | None = None  # the last cache document an event carried
        self.listeners: list[Callable[[list[list[Hit]]], None]] = []

    @property
    def rules(self) -> tuple[WatchRule, ...]:
        return self._rules

    def set_rules(self, rules: Sequence[WatchRule]) -> list[list[Hit]]:
        """A reloaded config: rules that stay keep their state; new ones are judged at once
        against the latest cache document (listeners hear what they meet, if anything)."""
        with self._lock:
            added = [rule for rule in rules if rule not in self._rules]
            self._rules = tuple(rules)
            self._met = {key: hit for key, hit in self._met.items() if key[0] in self._rules}
            found = []
            if added and self._latest is not None:
                found = hits(added, answers.document_checks(self._latest), self._latest)
                self._met.update({(h.rule, h.project, h.region): h for h in found})
        groups = [grouped for rule in added if (grouped := [h for h in found if h.rule == rule])]
        self._tell(groups)
        return groups

    def on_event(self, event: Event) -> None:
        if event.snapshot is not None:
            with self._lock:
                self._latest = event.snapshot
        # A cycle that ended with failed checks still answered the other regions.
        if event.kind in (WarmEvent.COMPLETE, WarmEvent.INCOMPLETE) and event.snapshot:
            self._tell(self.update(answers.document_checks(event.snapshot), event.snapshot))

    def _tell(self, groups: list[list[Hit]]) -> None:
        if groups:
            for listener in list(self.listeners):
                listener(groups)

    def update(
        self, checks: Iterable[dict[str, Any]], doc: Mapping[str, Any] | None = None
    ) -> list[list[Hit]]:
        """Take in a complete cycle's answers (and its document, which launch rules judge);
        returns the newly met hits grouped by rule."""
        with self._lock:
            now = {(h.rule, h.project, h.region): h for h in hits(self._rules, checks, doc)}
            new = [h for key, h in now.items() if key not in self._met]
            self._met = now
            rules = self._rules
        return [grouped for rule in rules if (grouped := [h for h in new if h.rule == rule])]

    def met_now(self) -> list[dict[str, Any]]:
        """The rules met now, each with where (for `quota-tray status --json`)."""
        with self._lock:
            met = list(self._met.values())
            rules = self._rules
        out = []
        for rule in rules:
            where = [h.as_json() for h in met if h.rule == rule]
            if where:
                out.append({**rule.as_json(), "met_in": where})
        return out


def alert_text(group: Sequence[Hit]) -> tuple[str, str]:
    """(title, body) of the notification for one rule's newly met regions. A region known
    only by its limit (usage unknown) is said to have that limit, never that many free."""
    rule, first = group[0].rule, group[0]
    if rule.launch:
        return f"🎯 {launch_text(group)}", "\n".join(
            [*(_fits(h, group) for h in group), f"Watching for {first.quota}."]
        )
    name = first.quota or answers.short_name(rule.metric)  # the quota, when not Compute VMs'
    lines = [_place_line(h, group) for h in group]
    if len(group) == 1:
        where = _place(first, group)
        if first.exact and first.quota:
            title = f"🎯 {name}: {_number(first.free)} free in {where}"
        elif first.exact:
            title = f"🎯 {_number(first.free)} × {name} free in {where}"
        else:
            title = f"🎯 {name}: a limit of {_number(first.free)} in {where} (usage unknown)"
    else:
        least = _number(rule.min_free)
        exact = sum(h.exact for h in group)
        parts = []
        if exact:
            parts.append(f"{least} or more free in {_regions(exact)}")
        if exact < len(group):
            parts.append(
                f"a limit of {least} or more (usage unknown) in {_regions(len(group) - exact)}"
            )
        title = f"🎯 {name}: {', '.join(parts)}"
    lines.append(f"Watching for {rule.describe()}.")
    return title, "\n".join(lines)


def alert_line(group: Sequence[Hit]) -> str:
    """The log and terminal line for one rule's newly met regions."""
    if group[0].rule.launch:
        return f"🎯 CACHE_WARM_WATCH: {launch_text(group)}"
    places = "; ".join(_place_line(h, group) for h in group)
    quota = f" ({group[0].quota})" if group[0].quota else ""
    return f"🎯 CACHE_WARM_WATCH: {group[0].rule.describe()}{quota} met: {places}"


def launch_text(group: Sequence[Hit]) -> str:
    """``t4box (n1-standard-8+4xT4 x2) fits in us-central1``; where it fits only on a limit,
    ``fits ≤ in europe-west4 (if nothing else is running)``, never plain fits."""
    parts = []
    for verdict in dict.fromkeys(h.verdict for h in group):
        places = [h for h in group if h.verdict == verdict]
        text = f"{verdict} in {', '.join(_place(h, group) for h in places)}"
        parts.append(text if verdict == FITS else f"{text} ({IF_NOTHING_ELSE})")
    return f"{group[0].quota} {'; '.join(parts)}"


def _fits(hit: Hit, group: Sequence[Hit]) -> str:
    text = f"{hit.verdict} in {_place(hit, group)}"
    return text if hit.verdict == FITS else f"{text} ({IF_NOTHING_ELSE})"


def _place(hit: Hit, group: Sequence[Hit]) -> str:
    several = len({h.project for h in group}) > 1
    return f"{hit.region} ({hit.project})" if several else hit.region


def _place_line(hit: Hit, group: Sequence[Hit]) -> str:
    if hit.exact:
        return f"{_number(hit.free)} free in {_place(hit, group)}"
    return f"a limit of {_number(hit.free)} in {_place(hit, group)} (usage unknown)"


def _regions(count: int) -> str:
    return f"{count} region" if count == 1 else f"{count} regions"


def _number(value: float) -> str:
    return answers.format_bound(value, exact=True)
