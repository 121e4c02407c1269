"""Latency profiles and fault injection for the Compute API emulator.

Standard library only. Kept apart from the HTTP server so the timing rules can be read (and
tested) without sockets.
"""

from __future__ import annotations

import math
import random
import re
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

PROFILES = ("fixed", "heavy-tail", "demo")
REGIONS_TARGET = "compute"  # every regions.get, of any region (not projects.get, no Cloud Quotas)
_QUOTA_TARGETS = frozenset(
    {"cloudquotas", "aiplatform", "cloudbuild", "project", "advice", "monitoring"}
)

# The demo profile: one latency per region, in milliseconds. The warmer takes one GPU check
# (metric by metric over us-central1, us-east1, us-west1, europe-west4) and one C3 check (the
# 18 C3 regions in plan order) per tick, and fetches each region once per cycle. The four GPU
# regions answer fast, so the batch time of a tick is the latency of the C3 region it meets
# first; that sequence walks through every level (boundaries 2000 / 2500 / 3000 ms) with at
# least 200 ms to spare below each boundary it has to stay under.
DEMO_LATENCY_MS: Mapping[str, float] = {
    "us-central1": 300,  # tick 1, GPU and C3
    "us-east1": 450,  # tick 2, GPU and C3
    "us-west1": 350,  # tick 3 (GPU); C3 meets it again at tick 5
    "europe-west4": 500,  # tick 4 (GPU); C3 meets it again at tick 13
    "us-east4": 800,  # tick 3: fire
    "us-east5": 2200,  # tick 4: warn
    "us-west2": 2700,  # tick 6: slowish
    "us-west3": 3400,  # tick 7: slow
    "us-west4": 600,  # tick 8: back to fire
    "northamerica-northeast1": 1300,
    "europe-west1": 2250,  # warn
    "europe-west2": 450,
    "europe-west3": 2750,  # slowish
    "europe-west9": 900,
    "asia-northeast1": 3600,  # slow
    "asia-southeast1": 1600,
    "australia-southeast1": 2250,  # warn
    "southamerica-east1": 700,
}
DEMO_DEFAULT_MS = 250.0
_MAX_MS = 120_000.0


class Latency:
    """How long the emulator waits before answering. Thread-safe; random draws are seeded.

    ``fixed``: ``ms`` for every request. ``heavy-tail``: lognormal around the median ``ms``,
    and with probability ``tail_probability`` that draw times ``tail_factor``. ``demo``: the
    per-region table above. ``per_region`` replaces the base value (fixed value, median, or
    demo entry) for the regions it names; ``scale`` multiplies every delay (0.05 = 20x faster).
    """

    def __init__(
        self,
        profile: str = "fixed",
        ms: float = 0.0,
        *,
        per_region: Mapping[str, float] | None = None,
        scale: float = 1.0,
        seed: int = 0,
        sigma: float = 0.35,
        tail_probability: float = 0.05,
        tail_factor: float = 6.0,
    ) -> None:
        if profile not in PROFILES:
            raise ValueError(f"unknown latency profile {profile!r}; use one of {PROFILES}")
        values = [ms, scale, sigma, tail_factor, *(per_region or {}).values()]
        if any(not math.isfinite(v) or v < 0 for v in values) or not 0 <= tail_probability <= 1:
            raise ValueError("latency values must be finite and not negative")
        self.profile = profile
        self.ms = float(ms)
        self.per_region = dict(per_region or {})
        self.scale = float(scale)
        self.sigma = sigma
        self.tail_probability = tail_probability
        self.tail_factor = tail_factor
        self._rng = random.Random(seed)
        self._lock = threading.Lock()

    @classmethod
    def demo(cls, scale: float = 1.0) -> Latency:
        return cls("demo", scale=scale)

    def base_ms(self, region: str | None) -> float:
        """The region's fixed value, median or demo entry, before scaling."""
        if region in self.per_region:
            return float(self.per_region[region])
        if self.profile == "demo":
            return float(DEMO_LATENCY_MS.get(region or "", DEMO_DEFAULT_MS))
        return self.ms

    def delay_ms(self, region: str | None) -> float:
        """One draw, scaled; ``region`` is None for requests that name no region."""
        base = self.base_ms(region)
        if self.profile == "heavy-tail" and base > 0:
            with self._lock:
                base = self._rng.lognormvariate(math.log(base), self.sigma)
                if self._rng.random() < self.tail_probability:
                    base *= self.tail_factor
        return min(base, _MAX_MS) * self.scale

    def __repr__(self) -> str:
        return f"Latency({self.profile!r}, ms={self.ms}, scale={self.scale})"


# repeat_token and endless_pages change a Cloud Quotas list page (emulator/quotas.LIST_FAULTS)
ACTIONS = ("http", "hang", "trickle", "broken_body", "no_quotas", "huge_body")
ACTIONS += ("repeat_token", "endless_pages")
HUGE_BODY_BYTES = 64 * 1024 * 1024  # what a huge_body fault sends unless told otherwise
TRICKLE_GAP_S = 0.05  # between the bytes of a trickled answer: no single read ever times out
# status -> (reason, message) as Compute words them; {p} and {r} are filled in.
DEFAULT_ERRORS: Mapping[int, tuple[str, str]] = {
    400: ("invalid", "Invalid value for field 'region': '{r}'."),
    401: ("authError", "Request is missing required authentication credential."),
    403: ("forbidden", "Required 'compute.regions.get' permission for 'projects/{p}'"),
    404: ("notFound", "The resource 'projects/{p}/regions/{r}' was not found"),
    429: ("rateLimitExceeded", "Too many requests for 'projects/{p}'."),
    500: ("backendError", "Internal error. Please try again or contact Google Support."),
    502: ("backendError", "Bad gateway."),
    503: ("backendError", "The service is currently unavailable."),
    504: ("backendError", "Deadline exceeded."),
}
_REASON_MESSAGES = {
    "rateLimitExceeded": "Quota exceeded for quota metric 'Read requests' and limit 'Read "
    "requests per minute' of service 'compute.googleapis.com' for consumer 'project {p}'.",
    "userRateLimitExceeded": "User Rate Limit Exceeded. Rate of requests for user exceed "
    "configured project quota.",
    "accessNotConfigured": "Compute Engine API has not been used in project {p} before or it is "
    "disabled. Enable it by visiting https://console.developers.google.com/apis/api/"
    "compute.googleapis.com/overview?project={p} then retry.",
}


@dataclass
class Fault:
    """One injected failure: what happens, to which requests, how many times (None: until
    cleared). ``project`` / ``region`` None match every project / region; the paged list,
    which names no region, is only hit by faults without a region."""

    action: str
    status: int = 0
    reason: str = ""
    project: str | None = None
    region: str | None = None
    count: int | None = None
    message: str = ""  # an http fault's error text instead of Compute's wording (hostile text)
    size: int = HUGE_BODY_BYTES  # bytes a huge_body fault sends

    def __post_init__(self) -> None:
        if self.action not in ACTIONS:
            raise ValueError(f"unknown fault action {self.action!r}; use one of {ACTIONS}")
        if self.action == "http":
            if not 400 <= self.status <= 599:
                raise ValueError(f"fault status must be 400-599, not {self.status}")
            self.reason = self.reason or DEFAULT_ERRORS.get(self.status, ("error", ""))[0]
        if self.count is not None and self.count < 1:
            raise ValueError("fault count must be at least 1")

    @classmethod
    def http(
        cls,
        status: int,
        reason: str = "",
        *,
        project: str | None = None,
        region: str | None = None,
        count: int | None = None,
    ) -> Fault:
        return cls("http", status, reason, project, region, count)

    def matches(self, project: str, region: str | None) -> bool:
        if self.region == REGIONS_TARGET:
            where = region is not None and region not in _QUOTA_TARGETS
        else:
            where = self.region is None or self.region == region
        return (self.project is None or self.project == project) and where

    def error_body(self, project: str, region: str | None) -> dict[str, object]:
        """The JSON error document Google APIs answer with."""
        default_reason, text = DEFAULT_ERRORS.get(self.status, ("error", "Request failed."))
        if self.reason != default_reason:
            text = _REASON_MESSAGES.get(self.reason, f"Request failed: {self.reason}.")
        message = self.message or text.format(p=project, r=region or "")
        return error_body(self.status, self.reason, message)


def error_body(status: int, reason: str, message: str) -> dict[str, object]:
    """Google's JSON error document; the reason lands in ``error.errors[0].reason``."""
    limited = "ratelimit" in reason.lower() or reason == "quotaExceeded"
    error = {"message": message, "domain": "usageLimits" if limited else "global", "reason": reason}
    return {"error": {"code": status, "message": message, "errors": [error]}}


SPEC_HELP = (
    "WHAT[:REASON][@TARGET][#COUNT]; WHAT is an HTTP status 400-599, hang, trickle, "
    "broken_body, no_quotas, huge_body (a valid answer of 64 MB), repeat_token or "
    "endless_pages (a Cloud Quotas list that asks for the same page again, or never ends); "
    "REASON goes in "
    "error.errors[0].reason (e.g. rateLimitExceeded); "
    "TARGET is REGION, compute (every regions.get), "
    "cloudquotas (Compute's QuotaInfos: the GPU family quotas), aiplatform "
    "(Vertex AI training QuotaInfos), cloudbuild (Cloud Build's), advice (advice.capacity), "
    "monitoring (Cloud Monitoring's time series, over gRPC), PROJECT/REGION, PROJECT/* or * "
    "(default: every request); #COUNT makes "
    "the fault hit only the next COUNT matching requests. Examples: "
    "403:rateLimitExceeded@us-east1, hang@europe-west4, 503@my-project/us-west1#2"
)
_SPEC = re.compile(
    r"^(?P<what>\d{3}|[a-z_-]+)(?::(?P<reason>[A-Za-z_]+))?"
    r"(?:@(?P<target>[^#@]+))?(?:#(?P<count>\d+))?$"
)


def parse_fault(spec: str, known_regions: Iterable[str] | None = None) -> Fault:
    """``403:rateLimitExceeded@us-east1#2`` -> Fault; ValueError with one line if malformed."""
    match = _SPEC.match(spec.strip())
    if not match:
        raise ValueError(
            f"bad fault spec {spec!r}: use WHAT[:REASON][@TARGET][#COUNT], "
            "e.g. 403:rateLimitExceeded@us-east1 or hang@europe-west4#1"
        )
    what, reason, target, count = match.group("what", "reason", "target", "count")
    what = what.replace("-", "_")
    if not what.isdigit() and what not in ACTIONS[1:]:
        raise ValueError(
            f"bad fault spec {spec!r}: {what!r} is not an HTTP status, hang, trickle, "
            "broken_body, no_quotas, huge_body, repeat_token or endless_pages"
        )
    project, region = None, None
    if target and target != "*":
        project, _, region = target.rpartition("/")
        project = project or None
        region = None if region == "*" else region
    if known_regions is not None and region is not None and region not in set(known_regions):
        raise ValueError(f"bad fault spec {spec!r}: unknown region {region!r}")
    if reason and not what.isdigit():
        raise ValueError(f"bad fault spec {spec!r}: only an HTTP status takes a :REASON")
    try:
        times = int(count) if count else None
        if what.isdigit():
            return Fault.http(int(what), reason or "", project=project, region=region, count=times)
        return Fault(what, project=project, region=region, count=times)
    except ValueError as exc:
        raise ValueError(f"bad fault spec {spec!r}: {exc}") from None


class FaultSet:
    """The active faults, in the order they were added; the first match wins. Thread-safe."""

    def __init__(self, faults: Iterable[Fault | str] = ()) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self._release = threading.Event()
        for fault in faults:
            self.add(fault)

    def add(self, fault: Fault | str) -> Fault:
        fault = parse_fault(fault) if isinstance(fault, str) else fault
        with self._lock:
            self._faults.append(fault)
        return fault

    def take(self, project: str, region: str | None) -> tuple[Fault | None, threading.Event]:
        """The fault for this request (using up one of its count), and the event that
        releases hung requests: taken together so a clear() in between cannot be missed."""
        with self._lock:
            for fault in self._faults:
                if fault.matches(project, region):
                    if fault.count is not None:
                        fault.count -= 1
                        if fault.count == 0:
                            self._faults.remove(fault)
                    return fault, self._release
            return None, self._release

    def active(self) -> list[Fault]:
        with self._lock:
            return list(self._faults)

    def clear(self) -> None:
        """Drop every fault and let hung requests go on to a normal answer."""
        with self._lock:
            self._faults.clear()
            self._release_hangs_locked()

    def release_hangs(self) -> None:
        with self._lock:
            self._release_hangs_locked()

    def _release_hangs_locked(self) -> None:
        self._release.set()
        self._release = threading.Event()
