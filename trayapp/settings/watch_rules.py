"""``[[watch]]`` rules in config.toml: a warmed metric (full or short name), ``min_free`` > 0,
and optionally regions warmed for that metric; or ``launch``, a ``[[launch]]`` name, met where
it fits. A mistake says what to fix or add."""

from __future__ import annotations

from functools import partial
from typing import Any

from trayapp import answers
from trayapp.settings import names
from trayapp.settings.values import ConfigError, name_list, named, positive, string, tables
from trayapp.watch import WatchRule

WATCH_KEYS = ("metric", "min_free", "regions", "launch")


def parse_rules(value: Any, settings: Any) -> tuple[WatchRule, ...]:
    """``[[watch]]`` tables: a warmed metric (full or short name), ``min_free`` > 0, and
    optionally regions that are warmed for that metric."""
    rules = []
    for key, table in tables("watch", value, WATCH_KEYS):
        if "launch" in table:
            rules.append(_launch_rule(key, table, settings))
            continue
        if "metric" not in table or "min_free" not in table:
            raise ConfigError(f"{key} needs metric and min_free, or launch")
        metric, regions = _watched_metric(key, string(f"{key} metric", table["metric"]), settings)
        min_free = positive(f"{key} min_free", table["min_free"])
        chosen: tuple[str, ...] = ()
        if table.get("regions"):
            given = name_list(f"{key} regions", table["regions"])
            every = (*settings.gpu_regions, *settings.c3_regions)
            chosen = tuple(named(key, partial(names.region, warmed=every), r) for r in given)
            table_name = "[c3] regions" if metric == settings.c3_metric else "[gpu] regions"
            for region in chosen:
                if region not in regions:
                    raise ConfigError(
                        f"{key}: region {region} is not warmed for "
                        f"{answers.short_name(metric)}: add it to {table_name}"
                    )
        elif "regions" in table and not isinstance(table["regions"], list):
            raise ConfigError(f"{key} regions must be a list of strings")
        rules.append(WatchRule(metric, min_free, chosen))
    return tuple(dict.fromkeys(rules))


def _launch_rule(key: str, table: dict[str, Any], settings: Any) -> WatchRule:
    """``launch = "name"``: met in a region where that ``[[launch]]`` fits."""
    others = [k for k in table if k != "launch"]
    if others:
        raise ConfigError(f"{key}: launch takes no {', '.join(others)} (it fits or it does not)")
    name = string(f"{key} launch", table["launch"])
    known = tuple(dict.fromkeys(launch.name for launch in settings.launches))
    if name not in known:
        if not known:
            raise ConfigError(f"{key}: launch {name!r} is not a [[launch]] name: add one")
        raise ConfigError(f"{key}: {names.unknown('launch', name, known)}")
    return WatchRule("", 0.0, launch=name)


def _watched_metric(key: str, name: str, settings: Any) -> tuple[str, tuple[str, ...]]:
    """The full name of a warmed metric given by full or short name, with its regions."""
    warmed = dict.fromkeys(settings.gpu_metrics, settings.gpu_regions)
    warmed.setdefault(settings.c3_metric, settings.c3_regions)
    for metric, regions in warmed.items():
        if answers.metric_matches(metric, name):
            return metric, regions
    raise ConfigError(f"{key}: {names.not_warmed_metric(name, tuple(warmed))}")
