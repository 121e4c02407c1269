"""A cap on what one API answer may cost: a server that sends 400 MB gets an error, not our RAM.

The Google clients read answers through ``requests``; a response hook runs before the body is
read (``stream=False`` reads it after the hooks), so the hook reads at most ``limit`` bytes
itself and refuses the rest. Nothing here is imported before a client is built.
"""

from __future__ import annotations

from typing import Any

from trayapp.sources.base import SourceError

MAX_BODY = 4 * 1024 * 1024  # a Region with every quota is ~20 kB; a page of them ~1 MB
_CHUNK = 64 * 1024


def cap_responses(client: Any, limit: int = MAX_BODY) -> Any:
    """Make every answer ``client`` reads through ``requests`` at most ``limit`` bytes."""
    session = getattr(getattr(client, "_transport", None), "_session", None)
    if session is not None and hasattr(session, "hooks"):
        session.hooks.setdefault("response", []).append(_hook(limit))
    return client


def _hook(limit: int) -> Any:
    def read_capped(response: Any, *args: object, **kwargs: object) -> Any:
        if getattr(response, "_content_consumed", True) or kwargs.get("stream"):
            return response
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > limit:
            response.close()
            raise _too_big(response, limit)
        body = bytearray()
        for chunk in response.raw.stream(_CHUNK, decode_content=True):
            body += chunk
            if len(body) > limit:
                response.close()
                raise _too_big(response, limit)
        response._content = bytes(body)
        response._content_consumed = True
        return response

    return read_capped


def _too_big(response: Any, limit: int) -> SourceError:
    return SourceError(
        "bad_response",
        f"the answer of {response.url} is larger than {limit // (1024 * 1024)} MB; not read",
    )
