"""Settings: defaults, then config.toml, then command-line flags. Errors are one line."""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from trayapp.safety.text import clean_line
from trayapp.warming import plan
from trayapp.warming.levels import TONES, Thresholds
from trayapp.watch import WatchRule

DEFAULT_ENDPOINT = "https://compute.googleapis.com"


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


@dataclass(frozen=True)
class Settings:
    projects: tuple[str, ...] = ()
    interval_s: float = 2.0
    rewarm_s: float = 1800.0
    timeout_s: float = 10.0
    endpoint: str = DEFAULT_ENDPOINT
    quotas_endpoint: str | None = None  # None: see cloudquotas_endpoint
    tone: str = "spicy"
    thresholds: Thresholds = field(default_factory=Thresholds)
    gpu_metrics: tuple[str, ...] = plan.DEFAULT_GPU_METRICS
    gpu_regions: tuple[str, ...] = plan.DEFAULT_GPU_REGIONS
    c3_metric: str = plan.DEFAULT_C3_METRIC
    c3_regions: tuple[str, ...] = plan.DEFAULT_C3_REGIONS
    gpu_service: str = "compute"  # which quota the checks read: README "Which quota?"
    spot: bool = False
    c3_service: str = "compute"
    notifications: bool = True
    notification_tone: str = "plain"  # toasts stay plain unless asked; the log follows ``tone``
    watch: tuple[WatchRule, ...] = ()

    @property
    def toast_tone(self) -> str:
        """The notifications' tone: ``tone = "plain"`` keeps profanity out everywhere."""
        return "plain" if self.tone == "plain" else self.notification_tone

    @property
    def cloudquotas_endpoint(self) -> str:
        """The Cloud Quotas URL in effect (see ``quotas_endpoint_for``)."""
        from trayapp.sources.cloudquotas import quotas_endpoint_for

        return quotas_endpoint_for(self.endpoint, self.quotas_endpoint)

    def __post_init__(self) -> None:
        if problem := plan.services_problem(self):  # the services exist, the metrics fit them
            raise ConfigError(problem)

    def plan(self) -> plan.Plan:
        checks = (self.gpu_metrics, self.gpu_regions, self.c3_metric, self.c3_regions)
        services = {k: getattr(self, k) for k in ("gpu_service", "spot", "c3_service")}
        return plan.build_plan(self.projects, *checks, **services)

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
    limit = LIMITS.get(key.rsplit(".", 1)[-1].rsplit(" ", 1)[-1].lstrip("-"))
    if limit is not None and number > limit:
        raise ConfigError(f"{key} must be at most {limit:g}, not {value!r}")
    return number


def _names(key: str, value: Any) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, list | tuple):
        raise ConfigError(f"{key} must be a list of strings")
    if not value or not all(isinstance(v, str) and v.strip() for v in value):
        raise ConfigError(f"{key} must be a non-empty list of non-empty strings")
    for v in value:
        _printable(key, v)
    return tuple(dict.fromkeys(v.strip() for v in value))


def _string(key: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{key} must be a non-empty string")
    return _printable(key, value.strip())


def _printable(key: str, value: str) -> str:
    """A name that reaches the log, the cache and the tray: one printable line, kept short."""
    if clean_line(value.strip(), 200) != value.strip():
        raise ConfigError(f"{key}: {value!r} must be one printable line of at most 200 characters")
    return value


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
        "quotas_endpoint",
        "tone",
        "thresholds",
        "gpu",
        "c3",
        "notifications",
        "watch",
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
    if "quotas_endpoint" in data:
        url = _string("quotas_endpoint", data["quotas_endpoint"])
        values["quotas_endpoint"] = check_endpoint(url, "quotas_endpoint")
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
        table = _table("gpu", data["gpu"], {"metrics", "regions", "service", "spot"})
        if "metrics" in table:
            values["gpu_metrics"] = _gpu_metrics(table["metrics"])
        if "regions" in table:
            values["gpu_regions"] = _names("gpu.regions", table["regions"])
    if "c3" in data:
        table = _table("c3", data["c3"], {"metric", "regions", "service"})
        if "metric" in table:
            values["c3_metric"] = _string("c3.metric", table["metric"])
        if "regions" in table:
            values["c3_regions"] = _names("c3.regions", table["regions"])
    if "notifications" in data:
        table = _table("notifications", data["notifications"], {"enabled", "tone"})
        if "enabled" in table:
            if not isinstance(table["enabled"], bool):
                raise ConfigError("notifications.enabled must be true or false")
            values["notifications"] = table["enabled"]
        if "tone" in table:
            if table["tone"] not in TONES:
                raise ConfigError(
                    f"notifications.tone must be one of {', '.join(TONES)}, not {table['tone']!r}"
                )
            values["notification_tone"] = table["tone"]
    settings = Settings(**values, **plan.service_keys(data))
    if "watch" in data:
        settings = replace(settings, watch=_watch_rules(data["watch"], settings))
    return settings


def _gpu_metrics(value: Any) -> tuple[str, ...]:
    """Names of GPU quota metrics; a typo is an error naming the closest known metric."""
    from trayapp.sources.compute_metrics import gpu_metric_problem

    names = _names("gpu.metrics", value)
    for name in names:
        problem = gpu_metric_problem(name)
        if problem:
            raise ConfigError(f"gpu.metrics: {problem}")
    return names


def _watch_rules(value: Any, settings: Settings) -> tuple[WatchRule, ...]:
    """``[[watch]]`` tables: a warmed metric (full or short name), ``min_free`` > 0, and
    optionally regions that are warmed for that metric."""
    if isinstance(value, dict):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise ConfigError("watch must be [[watch]] tables")
    rules = []
    for number, table in enumerate(value, 1):
        key = f"watch #{number}"
        for sub in table:
            if sub not in ("metric", "min_free", "regions"):
                raise ConfigError(f"unknown key {sub} in {key}")
        if "metric" not in table or "min_free" not in table:
            raise ConfigError(f"{key} needs metric and min_free")
        metric, regions = _watched_metric(key, _string(f"{key} metric", table["metric"]), settings)
        min_free = _positive(f"{key} min_free", table["min_free"])
        chosen: tuple[str, ...] = ()
        if table.get("regions"):
            chosen = tuple(r.lower() for r in _names(f"{key} regions", table["regions"]))
            for region in chosen:
                if region not in regions:
                    import difflib

                    near = difflib.get_close_matches(region, regions, n=1, cutoff=0.5)
                    hint = f"; did you mean {near[0]}?" if near else ""
                    raise ConfigError(f"{key}: region {region!r} is not warmed for {metric}{hint}")
        elif "regions" in table and not isinstance(table["regions"], list):
            raise ConfigError(f"{key} regions must be a list of strings")
        rules.append(WatchRule(metric, min_free, chosen))
    return tuple(dict.fromkeys(rules))


def _watched_metric(key: str, name: str, settings: Settings) -> tuple[str, tuple[str, ...]]:
    """The full name of a warmed metric given by full or short name, with its regions."""
    from trayapp import answers
    from trayapp.sources.compute_metrics import closest

    warmed = dict.fromkeys(settings.gpu_metrics, settings.gpu_regions)
    warmed.setdefault(settings.c3_metric, settings.c3_regions)
    for metric, regions in warmed.items():
        if answers.metric_matches(metric, name):
            return metric, regions
    guess = closest(name, tuple(warmed))
    hint = f"; did you mean {guess}?" if guess else ""
    raise ConfigError(f"{key}: metric {name!r} is not warmed (see [gpu] metrics){hint}")


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


def check_endpoint(url: str, key: str = "endpoint") -> str:
    if not url.startswith(("http://", "https://")):
        raise ConfigError(f"{key} must start with http:// or https://, not {url!r}")
    return url.rstrip("/")
