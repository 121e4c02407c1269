"""The rules every config value follows: numbers with bounds, lists of names, one printable
line, base URLs; a mistake is a ConfigError of one line naming the key."""

from __future__ import annotations

import math
from typing import Any

from trayapp.safety.text import clean_line
from trayapp.settings import names


class ConfigError(Exception):
    """A bad config file or value; the message names it in one line."""

    def __init__(self, message: str) -> None:
        super().__init__(clean_line(message))  # it quotes what the file said: made inert


# Upper bounds: beyond these a value is a typo, and some (timeout_s = 1e300) overflow later.
LIMITS = {
    "interval_s": 3600.0,
    "rewarm_s": 30 * 86400.0,
    "timeout_s": 600.0,
    "warn_ms": 3_600_000.0,
    "slowish_ms": 3_600_000.0,
    "slow_ms": 3_600_000.0,
    "min_free": 1e9,
}


def positive(key: str, value: Any, shown: str | None = None) -> float:
    """A positive number within the key's bound; a mistake names ``shown`` (a flag such as
    ``--interval``) or the key."""
    name = shown or key
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"{name} must be a number, not {value!r}")
    try:
        number = float(value)
    except OverflowError:  # an integer beyond any float
        raise ConfigError(f"{name} is too large") from None
    if not math.isfinite(number) or number <= 0:
        raise ConfigError(f"{name} must be a positive number, not {value!r}")
    limit = LIMITS.get(key.rsplit(".", 1)[-1].rsplit(" ", 1)[-1].lstrip("-"))
    if limit is not None and number > limit:
        raise ConfigError(f"{name} must be at most {limit:g}, not {value:g}")
    return number


def name_list(key: str, value: Any) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, list | tuple):
        raise ConfigError(f"{key} must be a list of strings")
    if not value or not all(isinstance(v, str) and v.strip() for v in value):
        raise ConfigError(f"{key} must be a non-empty list of non-empty strings")
    for v in value:
        printable(key, v)
    return tuple(dict.fromkeys(v.strip() for v in value))


def project_list(key: str, value: Any) -> tuple[str, ...]:
    return tuple(named(key, names.project, v) for v in name_list(key, value))


def region_list(key: str, value: Any) -> tuple[str, ...]:
    return tuple(dict.fromkeys(named(key, names.region, v) for v in name_list(key, value)))


def named(key: str, rule: Any, value: str) -> str:
    """``value`` as ``rule`` accepts it; a mistake is a ConfigError that names ``key``."""
    try:
        return rule(value.strip())
    except names.BadName as exc:
        raise ConfigError(f"{key}: {exc}") from None


def string(key: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{key} must be a non-empty string")
    return printable(key, value.strip())


def printable(key: str, value: str) -> str:
    """A name that reaches the log, the cache and the tray: one printable line, kept short."""
    if clean_line(value.strip(), 200) != value.strip():
        raise ConfigError(f"{key}: {value!r} must be one printable line of at most 200 characters")
    return value


def table(key: str, value: Any, allowed: set[str]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ConfigError(f"[{key}] must be a table")
    for sub in value:
        if sub not in allowed:
            raise ConfigError(names.unknown("key", f"{key}.{sub}", {f"{key}.{a}" for a in allowed}))
    return value


def tables(key: str, value: Any, allowed: tuple[str, ...]) -> list[tuple[str, dict[str, Any]]]:
    """``[[key]]`` tables, each with the label its mistakes are said under (``watch #2``);
    a key no table has names the closest one."""
    if isinstance(value, dict):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise ConfigError(f"{key} must be [[{key}]] tables")
    for number, entry in enumerate(value, 1):
        for sub in entry:
            if sub not in allowed:
                raise ConfigError(f"{key} #{number}: {names.unknown('key', sub, allowed)}")
    return [(f"{key} #{number}", entry) for number, entry in enumerate(value, 1)]


def check_endpoint(url: str, key: str = "endpoint") -> str:
    """A base URL (scheme, host, port): the clients add the API's own path to it."""
    from urllib.parse import urlsplit

    if not url.startswith(("http://", "https://")):
        raise ConfigError(f"{key} must start with http:// or https://, not {url!r}")
    parts = urlsplit(url)
    if parts.path.strip("/") or parts.query or parts.fragment:
        base = f"{parts.scheme}://{parts.netloc}"
        raise ConfigError(f"{key} takes the base URL without a path: {base}, not {url!r}")
    return url.rstrip("/")
