"""Settings: defaults, then config.toml, then command-line flags. Errors are one line."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from trayapp.settings import names
from trayapp.settings.launches import parse_launches, warm_extra
from trayapp.settings.values import (
    LIMITS,
    ConfigError,
    check_endpoint,
)
from trayapp.settings.values import name_list as _names
from trayapp.settings.values import named as _named
from trayapp.settings.values import positive as _positive
from trayapp.settings.values import project_list as _projects
from trayapp.settings.values import region_list as _regions
from trayapp.settings.values import string as _string
from trayapp.settings.values import table as _table
from trayapp.settings.watch_rules import parse_rules
from trayapp.warming import plan
from trayapp.warming.levels import TONES, Thresholds
from trayapp.watch import WatchRule

DEFAULT_ENDPOINT = "https://compute.googleapis.com"
FLAGS = {"interval_s": "--interval", "rewarm_s": "--rewarm", "timeout_s": "--timeout"}
# keys of the config's tables: a top-level ``spot`` is ``gpu.spot``
TABLE_KEYS = {
    "thresholds": ("warn_ms", "slowish_ms", "slow_ms"),
    "gpu": ("metrics", "regions", "service", "spot"),
    "c3": ("metric", "regions", "service"),
    "notifications": ("enabled", "tone"),
    "capacity": ("enabled",),
}
__all__ = ["LIMITS", "ConfigError", "Settings", "check_endpoint", "from_mapping", "load"]


@dataclass(frozen=True)
class Settings:
    projects: tuple[str, ...] = ()
    interval_s: float = 2.0
    rewarm_s: float = 1800.0
    timeout_s: float = 10.0
    endpoint: str = DEFAULT_ENDPOINT
    quotas_endpoint: str | None = None  # None: see cloudquotas_endpoint
    monitoring_endpoint: str | None = None  # Cloud Monitoring (gRPC): see sources.monitoring
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
    launches: tuple[Any, ...] = ()  # trayapp.launch.needs.Launch: what [[launch]] names
    quota_project: str | None = None  # [auth]: billed for Cloud Quotas calls, see sources
    capacity_enabled: bool = True  # [capacity]: ask Compute's capacity advice for [[launch]]

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
        extra = warm_extra(self.launches) if self.launches else ()
        launches = [(x.name, x.shape.name, x.count, x.service, x.tier) for x in self.launches]
        return plan.build_plan(self.projects, *checks, **services, extra=extra, launches=launches)

    def with_overrides(self, **values: Any) -> Settings:
        """Flags given on the command line (None means not given)."""
        given = {k: v for k, v in values.items() if v is not None}
        for key, flag in FLAGS.items():
            if key in given:
                given[key] = _positive(key, given[key], shown=flag)
        if "projects" in given:
            given["projects"] = _projects("--project", given["projects"])
        return replace(self, **given)


def from_mapping(data: dict[str, Any]) -> Settings:
    """Validate a parsed config.toml; unknown keys and bad values are errors."""
    known = {
        "projects",
        "interval_s",
        "rewarm_s",
        "timeout_s",
        "endpoint",
        "quotas_endpoint",
        "monitoring_endpoint",
        "tone",
        "thresholds",
        "gpu",
        "c3",
        "notifications",
        "watch",
        "launch",
        "auth",
        "capacity",
    }
    for key in data:
        if key not in known:
            raise ConfigError(_unknown_key(key, known))
    values: dict[str, Any] = {}
    if "projects" in data:
        values["projects"] = _projects("projects", data["projects"])
    for key in ("interval_s", "rewarm_s", "timeout_s"):
        if key in data:
            values[key] = _positive(key, data[key])
    if "endpoint" in data:
        values["endpoint"] = check_endpoint(_string("endpoint", data["endpoint"]))
    for key in ("quotas_endpoint", "monitoring_endpoint"):
        if key in data:
            values[key] = check_endpoint(_string(key, data[key]), key)
    if "tone" in data:
        if data["tone"] not in TONES:
            raise ConfigError(f"tone must be one of {', '.join(TONES)}, not {data['tone']!r}")
        values["tone"] = data["tone"]
    if "thresholds" in data:
        table = _table("thresholds", data["thresholds"], set(TABLE_KEYS["thresholds"]))
        numbers = {k: _positive(f"thresholds.{k}", v) for k, v in table.items()}
        try:
            values["thresholds"] = Thresholds(**numbers)
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
    if "gpu" in data:
        table = _table("gpu", data["gpu"], set(TABLE_KEYS["gpu"]))
        if "metrics" in table:
            values["gpu_metrics"] = _gpu_metrics(table["metrics"])
        if "regions" in table:
            values["gpu_regions"] = _regions("gpu.regions", table["regions"])
    if "c3" in data:
        table = _table("c3", data["c3"], set(TABLE_KEYS["c3"]))
        if "metric" in table:
            values["c3_metric"] = _named(
                "c3.metric", names.cpu_metric, _string("c3.metric", table["metric"])
            )
        if "regions" in table:
            values["c3_regions"] = _regions("c3.regions", table["regions"])
    if "notifications" in data:
        table = _table("notifications", data["notifications"], set(TABLE_KEYS["notifications"]))
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
    values.update(_capacity(data.get("capacity")))
    settings = Settings(**values, **plan.service_keys(data), **_auth(data.get("auth")))
    return _judged(settings, data)


def _judged(settings: Settings, data: dict[str, Any]) -> Settings:
    """``[[launch]]`` and ``[[watch]]``, checked against what ``settings`` warms."""
    if "launch" in data:
        settings = replace(settings, launches=parse_launches(data["launch"], settings))
    if "watch" in data:
        settings = replace(settings, watch=parse_rules(data["watch"], settings))
    return settings


def _capacity(value: Any) -> dict[str, bool]:
    """``[capacity] enabled``: whether a ``[[launch]]`` asks Compute's capacity advice."""
    if value is None:
        return {}
    table = _table("capacity", value, set(TABLE_KEYS["capacity"]))
    if "enabled" in table and not isinstance(table["enabled"], bool):
        raise ConfigError("capacity.enabled must be true or false")
    return {"capacity_enabled": table["enabled"]} if "enabled" in table else {}


def _unknown_key(key: str, known: set[str]) -> str:
    """The closest key; a key of a table given at the top (``spot``) names its table."""
    tables = [t for t, keys in TABLE_KEYS.items() if key in keys]
    if not tables:
        return names.unknown("key", key, known)
    where = " or ".join(f"{t}.{key} ({key} under [{t}])" for t in tables)
    return f"unknown key {key!r}; did you mean {where}?"


def _auth(value: Any) -> dict[str, str]:
    """``[auth]``: the project billed for Cloud Quotas calls when the credentials name none."""
    table = {} if value is None else _table("auth", value, {"quota_project"})
    if "quota_project" not in table:
        return {}
    given = _string("auth.quota_project", table["quota_project"])
    return {"quota_project": _named("auth.quota_project", names.project, given)}


def _gpu_metrics(value: Any) -> tuple[str, ...]:
    """GPU quota metrics, full or short (``H100``); a typo names the closest known metric."""
    given = _names("gpu.metrics", value)
    return tuple(dict.fromkeys(_named("gpu.metrics", names.gpu_metric, v) for v in given))


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
