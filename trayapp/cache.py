"""The cache file: what readers load in milliseconds and what the warmer writes atomically.

Standard library only, and cheap to import: a TUI does ``import trayapp.cache`` on start-up.
Schema 1 is documented in ``cache/schema.json`` and ``cache/README.md``.
"""

from __future__ import annotations

import json
import os
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

SCHEMA_VERSION = 1
FILENAME = "quota-cache.json"
DEFAULT_MAX_AGE_S = 1800.0
WARM_SHARE = 0.8
STATUSES = ("pending", "ok", "absent", "error")
_CHECK_KEYS = ("kind", "region", "metric", "status", "limit", "usage", "fetched_at", "error")


class CacheError(Exception):
    """The one error readers get: the file is missing, unreadable, corrupt or foreign."""

    def __init__(self, reason: str, path: Path | str, detail: str = "") -> None:
        self.reason = reason  # "missing" | "unreadable" | "corrupt" | "schema"
        self.path = Path(path)
        text = {
            "missing": "no quota cache yet",
            "unreadable": "quota cache cannot be read",
            "corrupt": "quota cache is corrupt",
            "schema": "quota cache has another format",
        }[reason]
        super().__init__(f"{text}: {path}" + (f" ({detail})" if detail else ""))


def default_path() -> Path:
    """Where the warmer writes, following XDG on Linux (same rule as platformdirs)."""
    from trayapp.paths import cache_dir  # platformdirs only when no path is given

    return cache_dir() / FILENAME


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def parse_time(text: str) -> float:
    """Seconds since the epoch of an ISO 8601 time with offset."""
    return datetime.fromisoformat(text).timestamp()


class Snapshot:
    """A loaded cache document, with the questions readers ask of it."""

    __slots__ = ("doc", "path")

    def __init__(self, doc: dict[str, Any], path: Path | None = None) -> None:
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
        for check in self.doc["projects"].get(project, {}).get("checks", ()):
            if check["region"] == region and check["metric"] == metric:
                return check
        return None

    def coverage(
        self, project: str, max_age_s: float = DEFAULT_MAX_AGE_S, now: float | None = None
    ) -> dict[str, float]:
        """Share of fresh checks per kind ("gpu", "c3"), 0.0 to 1.0."""
        now = time.time() if now is None else now
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
        max_age_s: float = DEFAULT_MAX_AGE_S,
        now: float | None = None,
    ) -> bool:
        """At least 80% of GPU and of C3 checks fresh (every project when none is named)."""
        names = [project] if project is not None else self.projects
        return bool(names) and all(
            min(self.coverage(p, max_age_s, now).values(), default=0.0) >= WARM_SHARE for p in names
        )

    def is_complete(
        self,
        project: str | None = None,
        max_age_s: float = DEFAULT_MAX_AGE_S,
        now: float | None = None,
    ) -> bool:
        names = [project] if project is not None else self.projects
        return bool(names) and all(
            min(self.coverage(p, max_age_s, now).values(), default=0.0) >= 1.0 for p in names
        )


def is_fresh(check: dict[str, Any], max_age_s: float, now: float) -> bool:
    if check["status"] not in ("ok", "absent") or not check["fetched_at"]:
        return False
    try:
        age = now - parse_time(check["fetched_at"])
    except ValueError:
        return False
    return age <= max_age_s


def load(path: Path | str | None = None) -> Snapshot:
    """Read and validate the cache; raises CacheError, never anything else."""
    path = Path(path) if path is not None else default_path()
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise CacheError("missing", path) from None
    except OSError as exc:
        raise CacheError("unreadable", path, exc.strerror or type(exc).__name__) from None
    return parse(raw, path)


def parse(raw: bytes, path: Path | str = "<bytes>") -> Snapshot:
    try:
        doc = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise CacheError("corrupt", path, _short(exc)) from None
    if not isinstance(doc, dict) or "schema_version" not in doc:
        raise CacheError("schema", path, "no schema_version")
    if doc["schema_version"] != SCHEMA_VERSION:
        raise CacheError("schema", path, f"schema_version {doc['schema_version']!r}, expected 1")
    problem = _validate(doc)
    if problem:
        raise CacheError("corrupt", path, problem)
    return Snapshot(doc, Path(path))


def _short(exc: BaseException) -> str:
    return str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__


def _validate(doc: dict[str, Any]) -> str | None:  # noqa: PLR0911 - one reason per shape error
    """Structural checks readers rely on; returns what is wrong, or None."""
    if not isinstance(doc.get("written_at"), str) or not isinstance(doc.get("warmer"), dict):
        return "written_at or warmer missing"
    projects = doc.get("projects")
    if not isinstance(projects, dict):
        return "projects is not an object"
    for name, body in projects.items():
        if not isinstance(body, dict) or not isinstance(body.get("cycle"), dict):
            return f"project {name!r} has no cycle"
        checks = body.get("checks")
        if not isinstance(checks, list):
            return f"project {name!r} has no checks"
        for check in checks:
            if not isinstance(check, dict) or any(k not in check for k in _CHECK_KEYS):
                return f"a check of {name!r} lacks fields"
            if check["status"] not in STATUSES:
                return f"a check of {name!r} has status {check['status']!r}"
    return None


def write_atomic(path: Path, doc: dict[str, Any]) -> None:
    """Temp file beside the target, fsync, replace: readers see the old or the new file."""
    import tempfile  # only writers pay for it

    private_mkdir(path.parent)
    data = json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode()
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:  # mkstemp creates it 0600
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


def private_mkdir(directory: Path) -> None:
    """Create ``directory`` and any missing parents as 0700 (mkdir's parents get 0777)."""
    if directory.is_dir():
        return
    private_mkdir(directory.parent)
    try:
        directory.mkdir(mode=0o700)
    except FileExistsError:
        if not directory.is_dir():
            raise


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # not possible on every platform
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def set_aside(path: Path) -> Path:
    """Move an unusable file out of the way, keeping it for a person to look at."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    target = path.with_name(f"{path.name}.bad-{stamp}")
    n = 1
    while target.exists():
        target = path.with_name(f"{path.name}.bad-{stamp}-{n}")
        n += 1
    os.replace(path, target)
    return target


class CacheWriter:
    """Observer writing each event's snapshot; a failing disk never stops warming."""

    def __init__(self, path: Path, on_error: Any = None) -> None:
        self.path = path
        self.on_error = on_error  # called with one line when writing starts failing
        self.failing: str | None = None
        self.writes = 0

    def on_event(self, event: Any) -> None:
        if event.snapshot is None:
            return
        try:
            write_atomic(self.path, dict(event.snapshot))
        except OSError as exc:
            message = f"cannot write {self.path}: {exc.strerror or exc}; values kept in memory"
            if message != self.failing:
                self.failing = message
                if self.on_error is not None:
                    self.on_error(message)
            return
        self.writes += 1
        self.failing = None


class ReadStats:
    """Reader-side hit/miss counters: below 80% hits after 10 reads, something is wrong."""

    def __init__(self, min_reads: int = 10, min_hit_rate: float = WARM_SHARE) -> None:
        self.hits = 0
        self.misses = 0
        self.min_reads = min_reads
        self.min_hit_rate = min_hit_rate

    def record(self, hit: bool) -> None:
        if hit:
            self.hits += 1
        else:
            self.misses += 1

    @property
    def hit_rate(self) -> float:
        total = self.hits + self.misses
        return self.hits / total if total else 0.0

    def should_complain(self) -> bool:
        return self.hits + self.misses >= self.min_reads and self.hit_rate < self.min_hit_rate

    def lookup(
        self,
        snapshot: Snapshot,
        project: str,
        region: str,
        metric: str,
        max_age_s: float = DEFAULT_MAX_AGE_S,
    ) -> dict[str, Any] | None:
        """A fresh check entry, or None; counts the hit or miss."""
        check = snapshot.get(project, region, metric)
        hit = check is not None and is_fresh(check, max_age_s, time.time())
        self.record(hit)
        return check if hit else None
