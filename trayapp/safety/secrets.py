"""Keeping credentials out of what people see: anything that looks like a key or a token is
replaced before a notification (or any other screen) shows a line."""

from __future__ import annotations

import re

from trayapp.safety.text import clean_line

_REDACTED = "[redacted]"
_SECRET_PATTERNS = (
    # PEM private keys, whole or cut off
    re.compile(
        r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(?:-----END [A-Z ]*PRIVATE KEY-----|$)", re.S
    ),
    re.compile(r'"private_key(?:_id)?"\s*:\s*"[^"]*"?'),
    re.compile(r"\bBearer\s+[A-Za-z0-9._~+/=-]+", re.I),
    re.compile(r"\bya29\.[A-Za-z0-9._-]+"),  # OAuth access tokens
    re.compile(r"\b1//[A-Za-z0-9._-]{10,}"),  # OAuth refresh tokens
    re.compile(r"\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*"),  # JWTs
    re.compile(r"\bAIza[0-9A-Za-z_-]{30,}"),  # API keys
    re.compile(
        r"\b(access_token|refresh_token|id_token|client_secret|private_key|password|api_key)"
        r"(\s*[=:]\s*)\S+",
        re.I,
    ),
)
MAX_MESSAGE_CHARS = 240


def redact(text: str, limit: int = MAX_MESSAGE_CHARS) -> str:
    """``text`` as one line with anything that looks like a credential replaced.

    Our errors are one-line summaries already; this is the second fence, because a
    notification ends up on screen, in the daemon's history and sometimes in screenshots.
    """
    for pattern in _SECRET_PATTERNS:
        if pattern.groups >= 2:
            text = pattern.sub(lambda m: f"{m.group(1)}{m.group(2)}{_REDACTED}", text)
        else:
            text = pattern.sub(_REDACTED, text)
    return clean_line(text, limit)
