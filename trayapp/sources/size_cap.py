"""A ceiling on the size of an answer, applied while it is read.

A bad or hostile server could send a body of any size; the client would read it whole into
memory before parsing it. A response hook on the client's HTTP session reads the body itself,
a chunk at a time, and gives up as soon as the decoded bytes pass the cap, so no more than the
cap (plus one chunk) is ever held. Standard library only here: the session is handed in.

Two private attributes of other libraries are used, within the versions pinned in
pyproject.toml; tests/sources/test_private_apis.py fails with a clear message when they change:
requests' ``Response._content`` / ``_content_consumed`` (where ``Response.content`` keeps the
body it read, so the capped body is what the client parses), and the google-cloud REST
transports' ``_session`` (the requests Session they send with; the transport itself is the
public ``client.transport``).
"""

from __future__ import annotations

import re
from typing import Any

from trayapp.sources.base import SourceError

MAX_ANSWER_BYTES = 4 * 1024 * 1024
_CHUNK = 64 * 1024
_WHERE = re.compile(r"/projects/([^/?]+)(?:/regions/([^/?]+))?")


def _where(url: str) -> str:
    found = _WHERE.search(url or "")
    if not found:
        return "answer"
    return "/".join(part for part in found.groups() if part)


def too_large(url: str, limit: int) -> SourceError:
    """The error of a refused answer, naming project/region as the other errors do."""
    return SourceError(
        "bad_response",
        f"{_where(url)}: answer larger than {limit / (1024 * 1024):g} MB refused",
    )


def read_capped(response: Any, limit: int) -> bytes:
    """The body of a requests Response, decoded, or SourceError past ``limit`` bytes."""
    length = response.headers.get("Content-Length", "")
    if length.isdigit() and int(length) > limit:
        response.close()
        raise too_large(response.url, limit)
    chunks: list[bytes] = []
    size = 0
    for chunk in response.raw.stream(_CHUNK, decode_content=True):
        size += len(chunk)
        if size > limit:
            response.close()
            raise too_large(response.url, limit)
        chunks.append(chunk)
    return b"".join(chunks)


def cap_session(session: Any, limit: int = MAX_ANSWER_BYTES) -> None:
    """Make every answer of a requests Session go through ``read_capped``."""

    def hook(response: Any, *args: Any, **kwargs: Any) -> Any:
        if kwargs.get("stream"):  # the caller reads it: not a path the Google clients take
            return response
        response._content = read_capped(response, limit)  # requests' private: see above
        response._content_consumed = True
        return response

    session.hooks.setdefault("response", []).append(hook)


def cap_client(client: Any, limit: int = MAX_ANSWER_BYTES) -> None:
    """The same for a google-cloud REST client: its transport keeps a requests Session."""
    session = getattr(getattr(client, "transport", None), "_session", None)
    if session is None or not hasattr(session, "hooks"):
        raise TypeError(f"{type(client).__name__} has no HTTP session to cap")
    cap_session(session, limit)
