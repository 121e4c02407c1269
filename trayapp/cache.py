"""The cache file: what readers load in milliseconds and what the warmer writes atomically.

Standard library only, and cheap to import: a TUI does ``import trayapp.cache`` on start-up.
Schema 1 is documented in ``cache/schema.json`` and ``cache/README.md``.
"""

from __future__ import annotations

import json
import os
import time
from datetime import UTC, datetime

# the check statuses and keys are defined once, beside the checks; readers say cache.STATUSES
from trayapp.cache_validate import CHECK_KEYS, STATUSES, problem  # noqa: F401
from trayapp.safety.text import clean_line

TYPE_CHECKING = False  # typing and pathlib would cost more to import than json itself
if TYPE_CHECKING:
    from pathlib import Path
    from typing import Any


SCHEMA_VERSION = 1
FILENAME = "quota-cache.json"
DEFAULT_MAX_AGE_S = 1800.0
WARM_SHARE = 0.8
MAX_BYTES = 8 * 1024 * 1024  # a cache of many projects is well under 1 MB; beyond this: corrupt


class CacheError(Exception):
    """The one error readers get: the file is missing, unreadable, corrupt or foreign."""

    def __init__(self, reason: str, path: str | os.PathLike[str], detail: str = "") -> None:
        self.reason = reason  # "missing" | "unreadable" | "corrupt" | "schema"
        self.path = os.fspath(path)
        text = {
            "missing": "no quota cache yet",
            "unreadable": "quota cache cannot be read",
            "corrupt": "quota cache is corrupt",
            "schema": "quota cache has another format",
        }[reason]
        self.what = f"{text}: {path}" + (f" ({detail})" if detail else "")
        # the warmer sets such a file aside at its start, and every batch writes a whole file
        fate = "; the next warm replaces it" if reason in ("corrupt", "schema") else ""
        super().__init__(self.what + fate)


def default_path(demo: bool = False) -> Path:
    """Where the warmer writes, following XDG on Linux (same rule as platformdirs); the demo
    keeps its own cache in a ``demo`` folder beside it."""
    from pathlib import Path

    return Path(default_file(demo))


def default_file(demo: bool = False) -> str:
    """:func:`default_path` as a string, found without importing pathlib or platformdirs on
    Linux: ``quota-tray show`` starts faster."""
    from trayapp.paths import cache_location

    parts = (cache_location(), "demo", FILENAME) if demo else (cache_location(), FILENAME)
    return os.path.join(*parts)  # noqa: PTH118


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def parse_time(text: str) -> float:
    """Seconds since the epoch of an ISO 8601 time with offset."""
    return datetime.fromisoformat(text).timestamp()


class Snapshot:
    """A loaded cache document, with the questions readers ask of it."""

    __slots__ = ("doc", "path")

    def __init__(self, doc: dict[str, Any], path: str | None = None) -> None:
        self.doc = doc
        self.path = path

    @property
    def written_at(self) -> str:
        return self.doc["written_at"]

    @property
    def warmer(self) -> dict[str, Any]:
        return self.doc["warmer"]

    @property
    def projects(self) -> list[str]:
        return list(self.doc["projects"])

    @property
    def max_age_s(self) -> float:
        """How old a value may be and still be fresh: what the writer says (its re-warm period
        plus the time a cycle takes to come round), else DEFAULT_MAX_AGE_S."""
        value = self.doc["warmer"].get("max_age_s")
        if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
            return float(value)
        return DEFAULT_MAX_AGE_S

    def cycle(self, project: str) -> dict[str, Any]:
        return self.doc["projects"][project]["cycle"]

    def checks(self, project: str | None = None) -> list[dict[str, Any]]:
        """Check entries of one project, or of all (each then carries its ``project``)."""
        if project is not None:
            return self.doc["projects"][project]["checks"]
        return [
            {"project": name, **check}
            for name, body in self.doc["projects"].items()
            for check in body["checks"]
        ]

    def get(self, project: str, region: str, metric: str) -> dict[str, Any] | None:
        checks = self.doc["projects"].get(project, {}).get("checks", ())
        return next((c for c in checks if c["region"] == region and c["metric"] == metric), None)

    def launch_quotas(self, project: str) -> list[dict[str, Any]]:  # what a launch consumes
        return self.section(project, "launch_quotas")

    def section(self, project: str, name: str) -> list[dict[str, Any]]:
        """A project's list ``name`` (``capacity``, ``requests``...); empty in older files."""
        return self.doc["projects"].get(project, {}).get(name, [])

    def coverage(
        self, project: str, max_age_s: float | None = None, now: float | None = None
    ) -> dict[str, float]:
        """Share of fresh checks per kind ("gpu", "c3"), 0.0 to 1.0."""
        now = time.time() if now is None else now
        max_age_s = self.max_age_s if max_age_s is None else max_age_s
        fresh: dict[str, int] = {}
        total: dict[str, int] = {}
        for check in self.doc["projects"][project]["checks"]:
            kind = check["kind"]
            total[kind] = total.get(kind, 0) + 1
            if is_fresh(check, max_age_s, now):
                fresh[kind] = fresh.get(kind, 0) + 1
        return {kind: fresh.get(kind, 0) / n for kind, n in total.items()}

    def is_warm(
        self,
        project: str | None = None,
        max_age_s: float | None = None,
        now: float | None = None,
    ) -> bool:
        """At least 80% of GPU and of C3 checks fresh (every project when none is named)."""
        return self._fresh_share_at_least(WARM_SHARE, project, max_age_s, now)

    def is_complete(
        self,
        project: str | None = None,
        max_age_s: float | None = None,
        now: float | None = None,
    ) -> bool:
        """Every check fresh and its latest fetch succeeded (of every project when none is
        named): a value kept from before a failed re-fetch is fresh but not complete."""
        names = [project] if project is not None else self.projects
        projects = self.doc["projects"]
        if any(c.get("error") for p in names for c in projects.get(p, {}).get("checks", ())):
            return False
        return self._fresh_share_at_least(1.0, project, max_age_s, now)

    def _fresh_share_at_least(
        self, share: float, project: str | None, max_age_s: float | None, now: float | None
    ) -> bool:
        names = [project] if project is not None else self.projects
        return bool(names) and all(
            min(self.coverage(p, max_age_s, now).values(), default=0.0) >= share for p in names
        )


CLOCK_SKEW_S = 60.0


def is_fresh(check: dict[str, Any], max_age_s: float, now: float) -> bool:
    if check["status"] not in ("ok", "absent") or not check["fetched_at"]:
        return False
    try:
        age = now - parse_time(check["fetched_at"])
    except ValueError:
        return False
    # An answer from the future is no answer (the clock was set back), beyond the skew that
    # millisecond stamps and a small clock correction cause.
    return -CLOCK_SKEW_S <= age <= max_age_s


def load(path: str | os.PathLike[str] | None = None) -> Snapshot:
    """Read and validate the cache; raises CacheError, never anything else."""
    path = os.fspath(path) if path is not None else os.fspath(default_path())
    try:
        with open(path, "rb") as f:  # noqa: PTH123 - pathlib is not imported here
            raw = f.read(MAX_BYTES + 1)  # never the whole of a huge file
    except FileNotFoundError:
        raise CacheError("missing", path) from None
    except OSError as exc:
        raise CacheError("unreadable", path, exc.strerror or type(exc).__name__) from None
    if len(raw) > MAX_BYTES:
        raise CacheError("corrupt", path, f"larger than {MAX_BYTES // (1024 * 1024)} MB")
    return parse(raw, path)


def parse(raw: bytes, path: str = "<bytes>") -> Snapshot:
    try:
        doc = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise CacheError("corrupt", path, _short(exc)) from None
    if not isinstance(doc, dict) or "schema_version" not in doc:
        raise CacheError("schema", path, "no schema_version")
    if doc["schema_version"] != SCHEMA_VERSION:
        shown = clean_line(repr(doc["schema_version"]), 40)
        raise CacheError("schema", path, f"schema_version {shown}, expected 1")
    wrong = problem(doc)  # and makes the outside text in it inert
    if wrong:
        raise CacheError("corrupt", path, wrong)
    return Snapshot(doc, path)


def _short(exc: BaseException) -> str:
    return clean_line(str(exc), 120) if str(exc) else type(exc).__name__


def write_atomic(path: str | os.PathLike[str], doc: dict[str, Any]) -> None:
    """The document as compact JSON through the one atomic writer, in a private folder:
    readers see the old or the new file, never half of one."""
    from trayapp.safety.files import private_dir
    from trayapp.safety.files import write_atomic as write_file

    private_dir(os.path.dirname(os.fspath(path)) or ".")  # noqa: PTH120
    write_file(path, json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode())


def set_aside(path: str | os.PathLike[str]) -> str:
    """Move an unusable file out of the way, keeping it for a person to look at."""
    path = os.fspath(path)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    target = f"{path}.bad-{stamp}"
    n = 1
    while os.path.lexists(target):
        target = f"{path}.bad-{stamp}-{n}"
        n += 1
    os.replace(path, target)
    return target


class CacheWriter:
    """Observer writing each event's snapshot. A failing disk never stops warming, but the
    warmer asks ``failing`` before it calls a round complete and ``retry()`` at every tick."""

    def __init__(self, path: str | os.PathLike[str], on_error: Any = None) -> None:
        self.path = path
        self.on_error = on_error  # called with one line when writing starts failing
        self.failing: str | None = None  # "cannot write PATH: why" while the latest write fails
        self.writes = 0
        self._unwritten: Any = None  # the document that could not be written

    def on_event(self, event: Any) -> None:
        if event.snapshot is not None:
            self.write(event.snapshot)

    def write(self, doc: Any) -> str | None:
        """Write ``doc``: None when written, else why not (and it is kept for ``retry``)."""
        try:
            write_atomic(self.path, dict(doc))
        except OSError as exc:
            self._unwritten, message = doc, f"cannot write {self.path}: {exc.strerror or exc}"
            if message != self.failing and self.on_error is not None:
                self.on_error(f"{message}; answers kept in memory, written again at each tick")
            self.failing = message
            return message
        self.writes += 1
        self.failing = self._unwritten = None
        return None

    def retry(self) -> str | None:
        """Write again the document that could not be written."""
        return self.failing if self._unwritten is None else self.write(self._unwritten)


class ReadStats:
    """Reader-side hit/miss counters: below 80% hits after 10 reads, something is wrong (a hit
    is a fresh answer; the terminal view counts one read each time its cursor lands on a check)."""

    def __init__(self, min_reads: int = 10, min_hit_rate: float = WARM_SHARE) -> None:
        self.hits = self.misses = 0
        self.min_reads = min_reads
        self.min_hit_rate = min_hit_rate

    def record(self, hit: bool) -> None:
        self.hits, self.misses = self.hits + bool(hit), self.misses + (not hit)

    @property
    def hit_rate(self) -> float:
        return self.hits / max(1, self.hits + self.misses)

    def should_complain(self) -> bool:
        return self.hits + self.misses >= self.min_reads and self.hit_rate < self.min_hit_rate
