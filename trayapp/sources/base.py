"""The contract between the warmer and whatever answers quota questions.

Standard library only: the warmer depends on this, never on google-cloud-compute.
"""

from __future__ import annotations

from typing import Protocol

from trayapp.safety.text import clean_line
from trayapp.sources.capacity import CapacityAnswer, CapacityRequest
from trayapp.sources.quota_rule import QuotaAnswer, QuotaRequest
from trayapp.sources.usage import UsagePoint, UsageRequest

# metric name -> (limit, usage), as one region reported them.
RegionQuotas = dict[str, tuple[float, float]]

ERROR_KINDS = (
    "auth",
    "permission",
    "not_found",
    "rate_limited",
    "unavailable",
    "timeout",
    "bad_response",
    "internal",  # a bug of ours or of a library: said as itself, its traceback in the log
    "not_offered",  # an optional API not offered for this project or region: said, not failed
)
# Failures that no retry inside a cycle can mend: warming stops for their scope.
FATAL_KINDS = frozenset({"auth", "permission"})


def is_loopback_host(host: str) -> bool:
    """127.0.0.0/8, ::1 or localhost: the only places tests and the demo may talk to."""
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class SourceError(Exception):
    """Every failure of a source, whatever raised it: a kind and one line for people."""

    def __init__(self, kind: str, message: str) -> None:
        if kind not in ERROR_KINDS:
            raise ValueError(f"unknown error kind {kind!r}")
        first_line = clean_line((message.strip().splitlines() or [""])[0])
        super().__init__(first_line)
        self.kind = kind
        self.message = first_line
        self.trace: str | None = None  # an internal error's traceback, one line, for the log

    def __str__(self) -> str:
        return f"{self.kind}: {self.message}"


def internal_error(where: str, exc: BaseException) -> SourceError:
    """A bug of ours or of a library, not the API's doing: said as itself (the exception's
    type and text), with its traceback as one line for the log."""
    from trayapp.safety.text import one_line_trace

    text = clean_line(exc, 160)
    error = SourceError(
        "internal", f"{where}: internal error ({type(exc).__name__}: {text}); see the log"
    )
    error.trace = one_line_trace(exc)
    return error


def log_internal(error: SourceError) -> None:
    """An internal error's traceback to the log, once a minute per kind of exception (the
    log's rate limit keys on the message's format)."""
    import logging
    import re

    trace = error.trace or ""
    name = re.sub(r"\W", "", trace.split(":", 1)[0])[:60]
    logging.getLogger("trayapp.sources").error(
        f"internal error, {name}%s", trace.removeprefix(name)
    )


class QuotaSource(Protocol):
    """Answers one region's quotas. Implementations must be safe to call from many threads."""

    def prepare(self) -> None:
        """Import libraries and build clients before the first batch is timed."""

    def fetch(self, project: str, region: str) -> RegionQuotas:
        """All quotas of one region, or SourceError."""

    def fetch_quota(self, project: str, request: QuotaRequest) -> QuotaAnswer | None:
        """One Cloud Quotas QuotaInfo of the project (None: the service has no such quota), or
        SourceError. Optional: a source without it answers region quotas only."""

    def fetch_project(self, project: str) -> RegionQuotas:
        """The project-wide quotas (``GPUS_ALL_REGIONS``...), or SourceError. Optional: asked
        only when a launch needs them."""

    def fetch_preferences(self, project: str) -> list[tuple[object, ...]]:
        """Every quota increase request of the project, the console's too, as
        ``sources.preferences.Preference`` values, or SourceError. Optional: the warmer asks
        only a source that has it, once per project per cycle."""

    def fetch_capacity(self, project: str, request: CapacityRequest) -> CapacityAnswer:
        """Compute's capacity advice for one launch in one region, or SourceError
        (``capacity.not_offered`` tells where it is not offered). Optional: asked only for a
        ``[[launch]]`` that fits quota there, with ``[capacity] enabled``."""

    def fetch_usage(self, project: str, request: UsageRequest) -> list[UsagePoint]:
        """Quota usage from Cloud Monitoring: the newest point per location of one service's
        metric (``sources.usage``), or SourceError. Optional: the warmer asks only when
        ``callable(getattr(source, "fetch_usage", None))``; without it usage stays unknown."""

    def release(self) -> None:
        """The round is over: free what you hold (a helper process ends after a short grace).
        The next prepare() or fetch() builds it again."""

    def close(self) -> None:
        """Release connections; must not block on a hung request."""
