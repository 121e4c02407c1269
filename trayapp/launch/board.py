"""The launches a cache document names (``launches``, written by the warmer from ``[[launch]]``),
each judged from the same document: one line each for the tray, the terminal view and the
notifications, and the regions that fit for the watch rules. Every reader judges the same
launches the same way, and a document without launches gives nothing. Standard library only.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from trayapp import answers, cache
from trayapp.launch import capacity
from trayapp.launch.needs import Launch
from trayapp.launch.shapes import parse_shape
from trayapp.launch.verdict import FITS, FITS_AT_MOST, RegionVerdict, judge, summary

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

LINE_CHARS = 160  # a summary names at most three regions: this holds one whole


@dataclass(frozen=True)
class Judged:
    """One launch of one project, judged region by region (best first)."""

    project: str
    launch: Launch
    verdicts: tuple[RegionVerdict, ...]
    advice: tuple[tuple[str, str], ...] = ()  # (region, capacity advice in words), best first

    @property
    def text(self) -> str:
        """``a3-highgpu-8g x1: fits in us-east4, us-central1`` (``verdict.summary``)."""
        return answers.clean(summary(self.launch, self.verdicts), LINE_CHARS)

    @property
    def best(self) -> str | None:
        """The first region where it fits (``fits ≤`` included), else None."""
        fitting = self.fitting()
        return fitting[0].region if fitting else None

    @property
    def capacity_text(self) -> str:
        """``capacity: us-east4 likely (0.82), zones us-east4-a; us-west1 unlikely (0.12)``;
        "" when the cache holds no advice for this launch."""
        said = "; ".join(f"{region} {text}" for region, text in self.advice)
        return answers.clean(f"capacity: {said}", 2 * LINE_CHARS) if said else ""

    def fitting(self) -> list[RegionVerdict]:
        """The regions where it fits or fits ≤, best first."""
        return [v for v in self.verdicts if v.verdict in (FITS, FITS_AT_MOST)]


def launches_of(body: Mapping[str, Any]) -> list[Launch]:
    """The launches of one project's entry in the document; one this version cannot read (a
    shape it does not know) is left out rather than guessed at."""
    found = []
    for entry in body.get("launches") or ():
        try:
            shape = parse_shape(str(entry["shape"]))
            count = int(entry["count"])
            found.append(
                Launch(str(entry["name"]), shape, count, str(entry["service"]), str(entry["tier"]))
            )
        except (KeyError, TypeError, ValueError):
            continue
    return found


def judge_document(
    doc: Mapping[str, Any], now: float | None = None, max_age_s: float | None = None
) -> list[Judged]:
    """Every launch of every project of a cache document, judged (in the document's order);
    fresh by the age the writer states unless ``max_age_s`` is given."""
    if max_age_s is None:  # what the writer states, else the default
        max_age_s = cache.Snapshot({"warmer": doc.get("warmer") or {}}).max_age_s
    now = time.time() if now is None else now
    snap = cache.Snapshot({"projects": doc.get("projects") or {}})
    found = []
    for project, body in (doc.get("projects") or {}).items():
        if not isinstance(body, dict):
            continue
        checks, more = body.get("checks") or [], body.get("launch_quotas") or []
        for launch in launches_of(body):
            verdicts = judge(launch, checks, more, max_age_s, now)
            advice = capacity.for_launch(snap, project, launch)
            said = [
                (r, advice[r].text(max_age_s, now))
                for r in (v.region for v in verdicts)
                if r in advice
            ]
            found.append(
                Judged(project, launch, tuple(verdicts), tuple((r, t) for r, t in said if t))
            )
    return found


def lines(judged: list[Judged], most: int | None = None) -> list[str]:
    """One line per launch, each naming its project when the document holds several; with
    ``most``, that many and then how many more."""
    several = len({j.project for j in judged}) > 1
    said = [f"{answers.clean(j.project, 60)}: {j.text}" if several else j.text for j in judged]
    if most is None or len(said) <= most:
        return said
    more = len(said) - most
    return [*said[:most], f"and {more} more launch{'es' if more > 1 else ''}"]
