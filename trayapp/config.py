"""Settings: defaults, then config.toml, then command-line flags. Errors are one line."""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from trayapp import plan
from trayapp.levels import TONES, Thresholds

DEFAULT_ENDPOINT = "https://compute.googleapis.com"


class ConfigError(Exception):
    """A bad config file or value; the message names it in one line."""


@dataclass(frozen=True)
class Settings:
    projects: tuple[str, ...] = ()
    interval_s: float = 2.0
    rewarm_s: float = 1800.0
    timeout_s: float = 10.0
    endpoint: str = DEFAULT_ENDPOINT
    tone: str = "spicy"
    thresholds: Thresholds = field(default_factory=Thresholds)
    gpu_metrics: tuple[str, ...] = plan.DEFAULT_GPU_METRICS
    gpu_regions: tuple[str, ...] = plan.DEFAULT_GPU_REGIONS
    c3_metric: str = plan.DEFAULT_C3_METRIC
    c3_regions: tuple[str, ...] = plan.DEFAULT_C3_REGIONS
    notifications: bool = True

    def plan(self) -> plan.Plan:
        return plan.build_plan(
            self.projects, self.gpu_metrics, self.gpu_regions, self.c3_metric, self.c3_regions
        )

    def with_overrides(self, **values: Any) -> Settings:
        """Flags given on the command line (None means not given)."""
        given = {k: v for k, v in values.items() if v is not None}
        for key in ("interval_s", "rewarm_s", "timeout_s"):
            if key in given:
                given[key] = _positive(key, given[key])
        if "projects" in given:
            given["projects"] = _names("--project", given["projects"])
        return replace(self, **given)


def _positive(key: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"{key} must be a number, not {value!r}")
    try:
        number = float(value)
    except OverflowError:  # an integer beyond any float
        raise ConfigError(f"{key} is too large") from None
    if not math.isfinite(number) or number <= 0:
        raise ConfigError(f"{key} must be a positive number, not {value!r}")
    return number


def _names(key: str, value: Any) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, list | tuple):
        raise ConfigError(f"{key} must be a list of strings")
    if not value or not all(isinstance(v, str) and v.strip() for v in value):
        raise ConfigError(f"{key} must be a non-empty list of non-empty strings")
    return tuple(dict.fromkeys(v.strip() for v in value))


def _string(key: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{key} must be a non-empty string")
    return value.strip()


def _table(key: str, value: Any, allowed: set[str]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ConfigError(f"[{key}] must be a table")
    for sub in value:
        if sub not in allowed:
            raise ConfigError(f"unknown key {key}.{sub}")
    return value


def from_mapping(data: dict[str, Any]) -> Settings:
    """Validate a parsed config.toml; unknown keys and bad values are errors."""
    known = {
        "projects",
        "interval_s",
        "rewarm_s",
        "timeout_s",
        "endpoint",
        "tone",
        "thresholds",
        "gpu",
        "c3",
        "notifications",
    }
    for key in data:
        if key not in known:
            raise ConfigError(f"unknown key {key}")
    values: dict[str, Any] = {}
    if "projects" in data:
        values["projects"] = _names("projects", data["projects"])
    for key in ("interval_s", "rewarm_s", "timeout_s"):
        if key in data:
            values[key] = _positive(key, data[key])
    if "endpoint" in data:
        values["endpoint"] = check_endpoint(_string("endpoint", data["endpoint"]))
    if "tone" in data:
        if data["tone"] not in TONES:
            raise ConfigError(f"tone must be one of {', '.join(TONES)}, not {data['tone']!r}")
        values["tone"] = data["tone"]
    if "thresholds" in data:
        table = _table("thresholds", data["thresholds"], {"warn_ms", "slowish_ms", "slow_ms"})
        numbers = {k: _positive(f"thresholds.{k}", v) for k, v in table.items()}
        try:
            values["thresholds"] = Thresholds(**numbers)
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
    if "gpu" in data:
        table = _table("gpu", data["gpu"], {"metrics", "regions"})
        if "metrics" in table:
            values["gpu_metrics"] = _names("gpu.metrics", table["metrics"])
        if "regions" in table:
            values["gpu_regions"] = _names("gpu.regions", table["regions"])
    if "c3" in data:
        table = _table("c3", data["c3"], {"metric", "regions"})
        if "metric" in table:
            values["c3_metric"] = _string("c3.metric", table["metric"])
        if "regions" in table:
            values["c3_regions"] = _names("c3.regions", table["regions"])
    if "notifications" in data:
        table = _table("notifications", data["notifications"], {"enabled"})
        if "enabled" in table:
            if not isinstance(table["enabled"], bool):
                raise ConfigError("notifications.enabled must be true or false")
            values["notifications"] = table["enabled"]
    return Settings(**values)


def load(path: Path, *, required: bool = False) -> Settings:
    """Settings from ``path``; a missing file means defaults unless it was asked for."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        if required:
            raise ConfigError(f"config file not found: {path}") from None
        return Settings()
    except OSError as exc:
        raise ConfigError(f"cannot read config {path}: {exc.strerror}") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(f"config {path} is not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config {path}: {exc}") from None
    except (ValueError, RecursionError):  # an integer of over 4300 digits; nesting too deep
        raise ConfigError(
            f"config {path}: not valid TOML (value too large or nested too deeply)"
        ) from None
    try:
        return from_mapping(data)
    except ConfigError as exc:
        raise ConfigError(f"config {path}: {exc}") from None
    except RecursionError:
        raise ConfigError(f"config {path}: nested too deeply") from None


def check_endpoint(url: str) -> str:
    if not url.startswith(("http://", "https://")):
        raise ConfigError(f"endpoint must start with http:// or https://, not {url!r}")
    return url.rstrip("/")
