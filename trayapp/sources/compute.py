"""The real quota source: Compute Engine ``regions.get`` through google-cloud-compute.

google-cloud-compute costs over a second and ~130 MB to import, so nothing from google (or
requests) is imported at module level: ``prepare()`` loads it, off the tray thread. Every
failure leaves as ``SourceError(kind, one line)``; the library's own exceptions, several of which
it does not wrap (requests timeouts, protobuf parse errors), never reach the warmer.
"""

from __future__ import annotations

import contextlib
import threading
import warnings
from abc import ABC, abstractmethod
from typing import Any
from urllib.parse import urlsplit

from trayapp.safety.text import clean_line
from trayapp.sources import fixes
from trayapp.sources.base import RegionQuotas, SourceError, is_loopback_host
from trayapp.sources.errors import classify
from trayapp.sources.size_cap import MAX_ANSWER_BYTES, cap_client

_THREAD = threading.local()  # the HTTP requests sent by this thread, for requests_on_thread


def requests_on_thread() -> int:
    """HTTP requests the calling thread sent since it last asked (the fetcher process runs
    each call on a thread of its own, and sends this count back with the answer)."""
    sent, _THREAD.sent = getattr(_THREAD, "sent", 0), 0
    return sent


def is_loopback_url(url: str) -> bool:
    """True for http(s) URLs whose host is 127.0.0.0/8, ::1 or localhost."""
    return is_loopback_host(urlsplit(url).hostname or "")


class GoogleClientSource(ABC):
    """What both Google sources share: endpoint rules (https, or http on loopback only, with
    anonymous credentials), a client built at ``prepare()`` off the tray thread, answers capped
    in size, a client dropped after a credentials failure (mended credentials are read afresh),
    and ``close()`` that never waits for a hung request. Safe to call from several threads."""

    LIBRARY = ""  # the pip name, for the import hint
    NAME = ""  # "the <NAME> source is closed", "<NAME> client set-up"
    CLIENT_OPTIONS: dict[str, Any] = {}  # noqa: RUF012 - read only

    def __init__(
        self,
        endpoint: str | None = None,
        timeout_s: float = 10.0,
        *,
        credentials: Any = None,
        max_answer_bytes: int = MAX_ANSWER_BYTES,
    ) -> None:
        if timeout_s <= 0:
            raise ValueError("timeout_s must be positive")
        endpoint = endpoint.rstrip("/") if endpoint else None
        loopback_http = (
            bool(endpoint) and endpoint.startswith("http://") and is_loopback_url(endpoint)
        )
        if endpoint and endpoint.startswith("http://") and not loopback_http:
            raise ValueError(
                f"refusing plain http to {endpoint}: credentials would travel unencrypted "
                "(use https://, or a loopback http:// URL for the emulator)"
            )
        # a loopback http endpoint gets none unless given some (to test the token refresh)
        self.credentials = credentials
        self.anonymous = loopback_http and credentials is None
        self.endpoint = endpoint
        self.timeout_s = float(timeout_s)
        self.max_answer_bytes = max_answer_bytes  # a huge answer is an error, not our memory
        self._client: Any = None
        self._lock = threading.Lock()
        self._closed = threading.Event()
        self.requests = 0  # HTTP requests sent so far, one per page of a list: "API calls"

    @abstractmethod
    def _client_class(self) -> Any:
        """Import the library (ImportError if missing) and return its client class."""

    def prepare(self) -> None:
        """Import the library and build the client; SourceError on failure."""
        with self._lock:
            if self._client is not None:
                return
            self._closed.clear()
            self._client = self._build_client()

    def missing_library(self, exc: ImportError) -> SourceError:
        """The client library cannot be imported: which, and how to install it."""
        return SourceError(
            "unavailable",
            f"{self.LIBRARY} cannot be imported ({exc.name or exc}): pip install {self.LIBRARY}",
        )

    def _build_client(self) -> Any:
        try:
            from google.auth.credentials import AnonymousCredentials

            client_class = self._client_class()
        except ImportError as exc:
            raise self.missing_library(exc) from exc
        options = {"api_endpoint": self.endpoint} if self.endpoint else None
        credentials = AnonymousCredentials() if self.anonymous else self.credentials
        try:
            client = client_class(
                credentials=credentials, client_options=options, **self.CLIENT_OPTIONS
            )
        except Exception as exc:
            raise classify(exc, f"{self.NAME} client set-up", self.timeout_s) from exc
        cap_client(client, self.max_answer_bytes)
        return client

    def _ready_client(self, where: str) -> Any:
        """The client, built if need be; SourceError once the source is closed."""
        if not self._closed.is_set() and self._client is None:
            self.prepare()
        client = self._client
        if self._closed.is_set() or client is None:
            raise SourceError("unavailable", f"{where}: the {self.NAME} source is closed")
        return client

    def _sent(self) -> None:
        """Count one HTTP request about to be sent (a server counts it, answered or not)."""
        with self._lock:
            self.requests += 1
        _THREAD.sent = getattr(_THREAD, "sent", 0) + 1

    def _failed(self, client: Any, error: SourceError) -> SourceError:
        """After a credentials failure the client goes: the next prepare() reads them afresh."""
        if error.kind == "auth":
            with self._lock:
                if self._client is client:
                    self._client = None
        return error

    def release(self) -> None:  # noqa: B027 - deliberately nothing: the client is kept
        """The round is over: nothing to free here, the client is kept for the next one."""

    def close(self) -> None:
        """Close idle connections; a request hanging in another thread is not waited for."""
        with self._lock:
            client, self._client = self._client, None
            self._closed.set()
        if client is not None:
            with contextlib.suppress(Exception):
                client.transport.close()


class ComputeSource(GoogleClientSource):
    """Region quotas from the Compute API (or the emulator, given an ``http://`` loopback
    endpoint, with anonymous credentials).

    One fetch is one HTTP request: the warmer owns retries, so it can keep every region within
    its budget of attempts per cycle, whatever fails."""

    LIBRARY = "google-cloud-compute"
    NAME = "Compute"

    def _client_class(self) -> Any:
        from google.cloud import compute_v1

        return compute_v1.RegionsClient

    def fetch(self, project: str, region: str) -> RegionQuotas:
        """All quotas of one region, in one request limited to ``timeout_s`` per read."""
        where = f"{project}/{region}"
        client = self._ready_client(where)
        try:
            self._sent()
            answer = client.get(project=project, region=region, timeout=self.timeout_s, retry=None)
        except Exception as exc:
            raise self._failed(client, explain(exc, project, where, self.timeout_s)) from exc
        if len(answer.quotas) == 0:
            code = answer.quota_status_warning.code or "no quotas field"
            raise SourceError("bad_response", f"{where}: quota data unavailable ({code})")
        return {q.metric: (float(q.limit), float(q.usage)) for q in answer.quotas}


def explain(exc: BaseException, project: str, where: str, timeout_s: float) -> SourceError:
    """``classify``, with the fix for a refusal a person must mend (the API disabled, a role
    missing), read from ErrorInfo or from Compute's own ``errors[0].reason``."""
    error = classify(exc, where, timeout_s)
    if error.kind != "permission":
        return error
    reason, _ = fixes.error_info(exc)
    errors = list(getattr(exc, "errors", None) or [])
    first = errors[0] if errors and isinstance(errors[0], dict) else {}
    legacy = clean_line(first.get("reason") or "", 80)  # accessNotConfigured, forbidden
    fix = fixes.compute(legacy, project, where) or fixes.compute(reason, project, where)
    return SourceError("permission", fix) if fix else error


def detect_project() -> str | None:
    """The project of Application Default Credentials, or None. Set NO_GCE_CHECK=true first
    when the metadata server must not be probed."""
    try:
        import google.auth

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the end-user-credentials advice
            _, project = google.auth.default()
    except Exception:
        return None
    return project or None
