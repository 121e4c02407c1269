"""Can this launch start in region R now: fits, fits ≤, blocked or unknown, and what stops it.

Each quota a launch consumes (``needs``) is read from the cache the way every surface reads
it (``answers.free_bound``: the exact free count, or the limit where usage is unknown) and set
against what the launch needs. ``fits``: every quota known exactly and enough. ``fits ≤``:
nothing short, but some quota known only as a limit: it fits if nothing else is running, and
never reads as plain ``fits``. ``blocked``: a known quota is short (a limit below the need is
short whatever the usage). ``unknown``: nothing short, but some quota failed, is pending, is
older than the data may be, or was never read. A global quota that is short blocks every
region, and the one-line summary says so once. Standard library only.
"""

from __future__ import annotations

from dataclasses import dataclass

from trayapp import answers, cache, words
from trayapp.launch.needs import CHECKS, GLOBAL, LAUNCH_QUOTAS, Launch, Need, Read, ingredients
from trayapp.sources import quota_names

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any

FITS, FITS_AT_MOST, BLOCKED, UNKNOWN = "fits", "fits ≤", "blocked", "unknown"
VERDICTS = (FITS, FITS_AT_MOST, UNKNOWN, BLOCKED)  # best first
IF_NOTHING_ELSE = "if nothing else is running"
NOT_READ = "not read"
SHOWN = 3  # regions a summary names before "and N more"


@dataclass(frozen=True)
class Reading:
    """One quota of a launch in one region: which quota applied, and what it has free."""

    need: Need
    quota: str  # the quota that applied there (the standard one where Spot has none)
    bound: tuple[float, bool] | None  # (free, exact), as answers.free_bound; None: unknown
    free: float | None  # the exact free count, None when unknown or only a limit
    why: str = ""  # why it is unknown
    # the region answered and has no such quota (not reported): it cannot be launched there,
    # yet no number is made up for it (free stays null, never 0)
    not_offered: bool = False

    @property
    def short(self) -> bool:
        return self.not_offered or (self.bound is not None and self.bound[0] < self.need.amount)

    @property
    def at_most(self) -> bool:
        """Enough only within a limit whose usage is unknown (no limit at all is enough)."""
        return self.bound is not None and not self.bound[1] and self.bound[0] != float("inf")

    def blocked_text(self) -> str:
        """``A2_CPUS: 24 free, need 96``; ``≤ 4 free`` where only the limit is known."""
        if self.not_offered:
            return f"{self.quota}: {words.NOT_REPORTED} in this region"
        free = answers.format_bound(*self.bound) if self.bound else words.UNKNOWN
        return f"{self.quota}: {free} free, need {words.number(self.need.amount)}"

    def unknown_text(self) -> str:
        return f"{self.quota} {words.UNKNOWN} ({self.why})"

    def as_json(self) -> dict[str, Any]:
        """The ``needs`` entry of ``show --launch --json``; free_at_most as ``show --json``."""
        limit = self.bound[0] if self.bound and self.bound[0] != float("inf") else None
        return {
            "quota": self.quota,
            "service": self.need.service,
            "scope": self.need.scope,
            "need": self.need.amount,
            "free": self.free,
            "free_at_most": limit,
        }


@dataclass(frozen=True)
class RegionVerdict:
    """The verdict of one launch in one region, with every quota it read."""

    region: str
    verdict: str
    readings: tuple[Reading, ...]

    @property
    def needs(self) -> list[dict[str, Any]]:
        return [r.as_json() for r in self.readings]

    @property
    def blocked_by(self) -> list[str]:
        return [r.quota for r in self.readings if r.short]

    @property
    def unknown(self) -> list[str]:
        return [r.quota for r in self.readings if r.bound is None and not r.not_offered]

    @property
    def headroom(self) -> float:
        """The least left over after the launch, among the quotas known (more is better)."""
        spare = [r.bound[0] - r.need.amount for r in self.readings if r.bound is not None]
        return min(spare, default=0.0)

    def reasons(self) -> list[str]:
        """``blocked by A2_CPUS: 24 free, need 96``, ``GPUS_ALL_REGIONS unknown (not read)``."""
        lines = [f"blocked by {r.blocked_text()}" for r in self.readings if r.short]
        unknown = [r.unknown_text() for r in self.readings if r.bound is None and not r.not_offered]
        return lines + unknown

    def as_json(self) -> dict[str, Any]:
        return {
            "region": self.region,
            "verdict": self.verdict,
            "needs": self.needs,
            "blocked_by": self.blocked_by,
            "unknown": self.unknown,
        }


def judge(
    launch: Launch,
    checks: Sequence[dict[str, Any]],
    launch_quotas: Sequence[dict[str, Any]],
    max_age_s: float,
    now: float,
) -> list[RegionVerdict]:
    """One verdict per region where the launch's GPU (or pool CPU) quota is checked, best
    first: fits, fits ≤, unknown, blocked; more headroom first within each."""
    needs = ingredients(launch)
    lists = {CHECKS: list(checks), LAUNCH_QUOTAS: list(launch_quotas)}
    found = []
    for region in _regions(needs[0], lists):
        readings = tuple(_read(need, region, lists, max_age_s, now) for need in needs)
        found.append(RegionVerdict(region, _verdict(readings), readings))
    found.sort(key=lambda v: (VERDICTS.index(v.verdict), -v.headroom, v.region))
    return found


def _verdict(readings: Sequence[Reading]) -> str:
    if any(r.short for r in readings):
        return BLOCKED
    if any(r.bound is None for r in readings):  # (not offered is short, so blocked above)
        return UNKNOWN
    return FITS_AT_MOST if any(r.at_most for r in readings) else FITS


def _regions(need: Need, lists: dict[str, list[dict[str, Any]]]) -> list[str]:
    """The regions holding an answer for ``need``, in the order the cache lists them."""
    regions: dict[str, None] = {}
    for read in need.reads:
        for entry in lists[read.place]:
            if _matches(entry, read) and isinstance(entry.get("region"), str):
                regions.setdefault(entry["region"], None)
    return list(regions)


def _matches(entry: dict[str, Any], read: Read) -> bool:
    return (
        entry.get("kind") == read.kind
        and (read.metric is None or entry.get("metric") == read.metric)
        and (read.service is None or quota_names.service_of(entry) == read.service)
        and (read.tier is None or quota_names.tier_of(entry) == read.tier)
    )


def _find(read: Read, region: str | None, lists: dict[str, list[dict[str, Any]]]) -> Any:
    for entry in lists[read.place]:
        if _matches(entry, read) and entry.get("region") == region:
            return entry
    return None


def _read(
    need: Need, region: str, lists: dict[str, list[dict[str, Any]]], max_age_s: float, now: float
) -> Reading:
    """The answer for ``need`` in ``region``: the first read that holds one; a read marked
    ``instead`` only where the reads before it say the quota is not reported there."""
    if not need.reads:
        return Reading(need, need.quota, None, None, need.why_unknown)
    where = None if need.scope == GLOBAL else region
    not_reported = ""
    for read in need.reads:
        if read.instead and not not_reported:
            continue
        entry = _find(read, where, lists)
        if entry is None:
            continue
        why = _unknown_why(entry, max_age_s, now)
        if why:
            return Reading(need, read.quota, None, None, why)
        if answers.not_reported(entry):
            not_reported = read.quota
            continue
        return Reading(need, read.quota, answers.free_bound(entry), answers.free(entry))
    if not_reported:  # a region without the quota cannot launch; a project-wide one: unknown
        return Reading(need, not_reported, None, None, words.NOT_REPORTED, need.scope != GLOBAL)
    return Reading(need, need.quota, None, None, NOT_READ)


def _unknown_why(entry: dict[str, Any], max_age_s: float, now: float) -> str:
    """Why an entry tells nothing now (failed, pending, stale), or "" when it does."""
    if not answers.known(entry):
        return words.state_text(entry)
    if not cache.is_fresh(entry, max_age_s, now):
        return f"stale: answered {words.ago(answers.age_s(entry, now))}"
    return ""


def everywhere(verdicts: Sequence[RegionVerdict]) -> list[str]:
    """What a global quota says for every region at once (``GPUS_ALL_REGIONS: 0 free, need
    8``), for a surface that says it once rather than in every row."""
    if not verdicts:
        return []
    said = []
    for reading in verdicts[0].readings:
        if reading.need.scope != GLOBAL:
            continue
        if reading.short:
            said.append(f"blocked by {reading.blocked_text()}")
        elif reading.bound is None:
            said.append(reading.unknown_text())
    return said


def summary(launch: Launch, verdicts: Sequence[RegionVerdict]) -> str:
    """One line for the tray, a notification or a watch rule:
    ``a3-highgpu-8g x1: fits in us-east4, us-central1``,
    ``a3-highgpu-8g x1: blocked everywhere by GPUS_ALL_REGIONS: 0 free, need 8``."""
    head = f"{launch.label}: "
    by = {v: [r for r in verdicts if r.verdict == v] for v in VERDICTS}
    if not verdicts:
        quota = ingredients(launch)[0].quota
        return head + f"no region has an answer for {quota} yet"
    if by[FITS]:
        return head + f"fits in {_regions_text(by[FITS])}"
    if by[FITS_AT_MOST]:
        return head + f"{FITS_AT_MOST} in {_regions_text(by[FITS_AT_MOST])} ({IF_NOTHING_ELSE})"
    shared = [line for line in everywhere(verdicts) if line.startswith("blocked by ")]
    if shared:  # short everywhere: every region is blocked by it; say it once
        said = "; ".join(line.removeprefix("blocked by ") for line in shared)
        return head + f"blocked everywhere by {said}"
    if not by[UNKNOWN]:
        first = by[BLOCKED][0]
        why = first.reasons()[0].removeprefix("blocked ")
        more = len(verdicts) - 1
        rest = f"; {more} more region{'s' if more > 1 else ''} blocked" if more else ""
        return head + f"blocked everywhere: {first.region} {why}{rest}"
    why = dict.fromkeys(
        r.unknown_text() for v in by[UNKNOWN] for r in v.readings if not (r.bound or r.not_offered)
    )
    return head + f"{words.UNKNOWN} in {_regions_text(by[UNKNOWN])}: " + "; ".join(why)


def _regions_text(verdicts: Sequence[RegionVerdict]) -> str:
    names = [v.region for v in verdicts[:SHOWN]]
    more = len(verdicts) - SHOWN
    return ", ".join(names) + (f" and {more} more" if more > 0 else "")
