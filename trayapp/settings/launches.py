"""``[[launch]]`` entries in config.toml: a shape (machine type, ``8xH100`` or
``n1-standard-8+4xT4``), a count, and what launches it (the service and tier of ``[gpu]`` unless
the entry says ``service`` / ``spot``). A launch is judged from the warmed checks, so its GPU must
be warmed, for its service and tier: a mistake says what to fix or add."""

from __future__ import annotations

from typing import Any

from trayapp import answers
from trayapp.settings.values import ConfigError, string, tables

LAUNCH_KEYS = ("name", "shape", "count", "service", "spot")
SERVICE_WORDS = {"compute": "Compute Engine VMs", "vertex": "Vertex AI training"}


def parse_launches(value: Any, settings: Any) -> tuple[Any, ...]:
    """``[[launch]]`` tables as launches, each checked against what ``settings`` warms."""
    launches = []
    for label, table in tables("launch", value, LAUNCH_KEYS):
        key = label
        if "shape" not in table:
            raise ConfigError(f"{key} needs a shape (a3-highgpu-8g, 8xH100, n1-standard-8+4xT4)")
        name = string(f"{key} name", table["name"]) if "name" in table else ""
        key = f"launch {name!r}" if name else key
        count = table.get("count", 1)
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise ConfigError(f"{key} count must be a whole number of 1 or more, not {count!r}")
        service = table.get("service", settings.gpu_service)
        spot = table.get("spot", settings.spot if service == settings.gpu_service else False)
        if not isinstance(spot, bool):
            raise ConfigError(f"{key} spot must be true or false")
        shape = string(f"{key} shape", table["shape"])
        launches.append(
            build(key, shape, count, service=service, spot=spot, name=name, settings=settings)
        )
    return tuple(launches)


def build(
    key: str, shape_text: str, count: int, *, service: Any, spot: bool, name: str, settings: Any
) -> Any:
    """One launch, or ConfigError in one line naming what to fix (``key`` says which)."""
    from trayapp.launch.needs import Launch
    from trayapp.launch.shapes import parse_shape

    try:
        shape = parse_shape(shape_text)
    except ValueError as exc:
        raise ConfigError(f"{key}: {exc}") from None
    if shape.gpu_metric is None:  # a Cloud Build pool machine: no Spot tier there
        service, spot = "cloudbuild", False
    tier = "spot" if spot else "on-demand"
    try:
        launch = Launch(name or shape.name, shape, count, str(service), tier)
    except ValueError as exc:
        raise ConfigError(f"{key}: {exc}") from None
    problem = not_warmed(launch, settings)
    if problem:
        raise ConfigError(f"{key}: {problem}")
    return launch


def not_warmed(launch: Any, settings: Any) -> str | None:
    """Why the warmed checks cannot judge ``launch`` (and what to change), or None."""
    if launch.service == "cloudbuild":
        if settings.c3_service != "cloudbuild":
            return 'a Cloud Build pool needs Cloud Build quota warmed: [c3] service = "cloudbuild"'
        return None
    wanted = (launch.service, launch.tier == "spot")
    if wanted != (settings.gpu_service, settings.spot):
        spot = " Spot" if wanted[1] else ""
        return (
            f"it reads {SERVICE_WORDS.get(launch.service, launch.service)}{spot} quota, which "
            f'is not warmed: set [gpu] service = "{launch.service}" and spot = '
            f"{str(wanted[1]).lower()}, or give the launch the service and spot of [gpu]"
        )
    metric = launch.shape.gpu_metric
    if metric not in settings.gpu_metrics:
        return f"{answers.short_name(metric)} is not warmed: add {metric} to [gpu] metrics"
    return None


def warm_extra(launches: tuple[Any, ...]) -> tuple[tuple[str, str, str, str], ...]:
    """The quotas besides the checks that the launches read: ``(kind, metric, service,
    tier)`` for ``build_plan(extra=...)``."""
    from trayapp.launch.needs import LAUNCH_QUOTAS, ingredients

    found = []
    for launch in launches:
        for need in ingredients(launch):
            for read in need.reads:
                if read.place != LAUNCH_QUOTAS or read.metric is None:
                    continue
                if (
                    read.kind == "cpu"
                    and launch.tier == "on-demand"
                    and read.metric == (launch.shape.gpu_metric)
                ):
                    continue  # the GPU check itself answers it
                service, tier = _CALLS.get(read.kind, ("compute", "on-demand"))
                found.append((read.kind, read.metric, read.service or service, read.tier or tier))
    return tuple(dict.fromkeys(found))


# which quota a launch quota's kind is read from (see warming.calls)
_CALLS = {"vertex_cpu": ("vertex", "spot")}
