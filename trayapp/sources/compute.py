"""The real quota source: Compute Engine ``regions.get`` through google-cloud-compute.

google-cloud-compute costs over a second and ~130 MB to import, so nothing from google (or
requests) is imported at module level: ``prepare()`` loads it, off the tray thread. Every
failure leaves as ``SourceError(kind, one line)``; the library's own exceptions, several of which
it does not wrap (requests timeouts, protobuf parse errors), never reach the warmer.
"""

from __future__ import annotations

import contextlib
import re
import threading
import warnings
from abc import ABC, abstractmethod
from typing import Any
from urllib.parse import urlsplit

from trayapp.safety.text import clean_line
from trayapp.sources.base import RegionQuotas, SourceError, is_loopback_host
from trayapp.sources.size_cap import MAX_ANSWER_BYTES, cap_client

ADC_HINT = 'run "gcloud auth application-default login", or pass --endpoint to use the emulator'
RATE_REASONS = frozenset(
    {
        "ratelimitexceeded",
        "userratelimitexceeded",
        "quotaexceeded",
        "dailylimitexceeded",
        "rate_limit_exceeded",
        "resource_exhausted",
    }
)
_OAUTH_CODES = re.compile(
    r"\b(invalid_grant|invalid_client|invalid_scope|unauthorized_client|"
    r"access_denied|invalid_rapt)\b"
)
_MAX_DETAIL = 200


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

    def _build_client(self) -> Any:
        try:
            from google.auth.credentials import AnonymousCredentials

            client_class = self._client_class()
        except ImportError as exc:
            raise SourceError(
                "unavailable",
                f"{self.LIBRARY} cannot be imported ({exc.name or exc}): "
                f"pip install {self.LIBRARY}",
            ) from exc
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
            answer = client.get(project=project, region=region, timeout=self.timeout_s, retry=None)
        except Exception as exc:
            raise self._failed(client, classify(exc, where, self.timeout_s)) from exc
        if len(answer.quotas) == 0:
            code = answer.quota_status_warning.code or "no quotas field"
            raise SourceError("bad_response", f"{where}: quota data unavailable ({code})")
        return {q.metric: (float(q.limit), float(q.usage)) for q in answer.quotas}


def _first_error(exc: Any) -> tuple[str, str]:
    """(reason, message) of the first entry of a Google error body; entries may be dicts."""
    errors = list(getattr(exc, "errors", None) or [])
    first = errors[0] if errors else {}
    get = (
        first.get
        if isinstance(first, dict)
        else lambda key, default="": getattr(first, key, default)
    )
    reason = str(get("reason", "") or getattr(exc, "reason", "") or "")
    message = str(get("message", "") or "")
    if not message:  # "GET http://...: text" -> "text"
        message = re.sub(r"^[A-Z]+ \S+: ", "", str(getattr(exc, "message", "") or exc))
    return reason, clean_line(message, _MAX_DETAIL)


def _connection_reason(exc: BaseException) -> str:
    text = str(exc)
    for pattern in (
        r"\[Errno -?\d+\] ([^'\")]+)",
        r"(Remote end closed connection[^'\")]*)",
        r"(Connection (?:aborted|reset)[^'\")]*)",
    ):
        found = re.search(pattern, text)
        if found:
            return found.group(1).strip(" .")
    return type(exc).__name__


def classify(exc: BaseException, where: str, timeout_s: float) -> SourceError:
    """Any exception out of google-cloud-compute, google-auth, requests or protobuf -> the
    SourceError the warmer understands, with one line that carries no credential text."""
    import requests
    from google.api_core import exceptions as api
    from google.auth import exceptions as auth
    from google.protobuf import json_format

    if isinstance(exc, SourceError):
        return exc
    if isinstance(exc, auth.InvalidOperation) and "nonymous" in str(exc):
        # a 401 makes google-auth refresh the credentials; anonymous ones refuse
        return SourceError(
            "auth",
            f"{where}: not authenticated (HTTP 401): the endpoint wants credentials, "
            "and none are sent to a loopback http:// endpoint",
        )
    if isinstance(exc, auth.DefaultCredentialsError):
        return SourceError("auth", f"no usable Google Cloud credentials: {ADC_HINT}")
    if isinstance(exc, auth.TransportError) or (
        isinstance(exc, auth.GoogleAuthError) and exc.retryable
    ):  # the network failed while the token refreshed (a laptop waking before its Wi-Fi)
        return SourceError(
            "unavailable",
            f"{where}: could not refresh the login token ({type(exc).__name__}: "
            f"{_connection_reason(exc)}); retrying",
        )
    if isinstance(exc, auth.GoogleAuthError):
        code = _OAUTH_CODES.search(str(exc))
        detail = f" ({code.group(1)})" if code else ""
        return SourceError(
            "auth",
            f"{where}: credentials could not be used ({type(exc).__name__}{detail}); "
            'run "gcloud auth application-default login"',
        )
    if isinstance(exc, api.RetryError):
        if exc.cause is not None:
            return classify(exc.cause, where, timeout_s)
        why = clean_line(exc.message, _MAX_DETAIL)
        return SourceError("timeout", f"{where}: retries gave up ({why})")
    if isinstance(exc, api.GoogleAPICallError):
        return _classify_status(exc, where)
    if isinstance(exc, requests.Timeout):
        return SourceError("timeout", f"{where}: no answer within {timeout_s:g} s")
    if isinstance(exc, requests.ConnectionError):
        return SourceError("unavailable", f"{where}: connection failed ({_connection_reason(exc)})")
    if isinstance(exc, requests.RequestException):
        return SourceError("unavailable", f"{where}: transfer failed ({type(exc).__name__})")
    if isinstance(exc, json_format.ParseError | ValueError | TypeError):
        return SourceError("bad_response", f"{where}: unreadable answer ({clean_line(exc, 120)})")
    if isinstance(exc, OSError):
        return SourceError("unavailable", f"{where}: {type(exc).__name__}: {clean_line(exc, 120)}")
    return SourceError("unavailable", f"{where}: unexpected {type(exc).__name__}")


_STATUS_KINDS = {401: "auth", 404: "not_found", 408: "timeout", 429: "rate_limited"}
_KIND_WORDS = {
    "auth": "not authenticated",
    "permission": "permission denied",
    "rate_limited": "rate limited",
    "not_found": "no such region or project",
    "timeout": "request timed out",
    "bad_response": "request rejected",
    "unavailable": "service unavailable",
}


def _classify_status(exc: Any, where: str) -> SourceError:
    status = exc.code if isinstance(exc.code, int) else None
    reason, message = _first_error(exc)
    if status == 403:  # Compute's per-minute rate limit is a 403 too; the reason tells
        kind = "rate_limited" if reason.lower() in RATE_REASONS else "permission"
    elif status in _STATUS_KINDS:
        kind = _STATUS_KINDS[status]
    elif status is not None and 400 <= status < 500:
        kind = "bad_response"
    else:
        kind = "unavailable"
    label = f"HTTP {status} {reason}".strip() if status else type(exc).__name__
    return SourceError(kind, f"{where}: {_KIND_WORDS[kind]} ({label}): {message}")


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
