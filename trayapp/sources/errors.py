"""How any failure of Google's client libraries becomes the one ``SourceError`` the warmer
understands: a kind, and one line for people that carries no credential text.

Google's libraries (and requests) are imported inside ``classify`` only, when an error is
classified: they are loaded by then, in the process that called them.
"""

from __future__ import annotations

import re
from typing import Any

from trayapp.safety.text import clean_line
from trayapp.sources.base import SourceError, internal_error

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


def _target(exc: BaseException) -> str:
    """``http://127.0.0.1:9``: the server a connection error could not reach."""
    from urllib.parse import urlsplit

    url = getattr(getattr(exc, "request", None), "url", None)
    if isinstance(url, str):
        parts = urlsplit(url)
        return clean_line(f"{parts.scheme}://{parts.netloc}", 120)
    found = re.search(r"host='([^']+)', port=(\d+)", str(exc))
    return f"{found.group(1)}:{found.group(2)}" if found else "the server"


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
        reason = _connection_reason(exc)
        return SourceError("unavailable", f"{where}: cannot reach {_target(exc)}: {reason.lower()}")
    if isinstance(exc, requests.RequestException):
        return SourceError("unavailable", f"{where}: transfer failed ({type(exc).__name__})")
    if isinstance(exc, json_format.ParseError | ValueError | TypeError):
        return SourceError("bad_response", f"{where}: unreadable answer ({clean_line(exc, 120)})")
    if isinstance(exc, OSError):
        return SourceError("unavailable", f"{where}: {type(exc).__name__}: {clean_line(exc, 120)}")
    return internal_error(where, exc)


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
