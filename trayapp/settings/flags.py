"""Settings from the command line: the options of ``run`` and ``demo``, and what they change
in the settings the config file gives (the demo's: its project, the emulator, its speed), and
the recipe of the fetcher's source they make."""

from __future__ import annotations

import argparse

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from trayapp.config import Settings
    from trayapp.sources.recipe import SourceRecipe

DEMO_PROJECT = "demo-project"


def add_warm_options(
    p: argparse.ArgumentParser, number: Callable[[str], float], *, endpoint: bool
) -> None:
    """The options of ``run`` and ``demo``: each becomes a setting (``settings_from``)."""
    p.add_argument("--headless", action="store_true", help="no tray: progress on the terminal")
    p.add_argument("--once", action="store_true", help="one full warm cycle, then exit")
    p.add_argument("--project", action="append", metavar="ID", help="project (repeatable)")
    if endpoint:
        p.add_argument("--endpoint", metavar="URL", help="Compute API base URL")
        p.add_argument(
            "--quotas-endpoint",
            metavar="URL",
            help="Cloud Quotas API base URL (default: --endpoint when that is a loopback "
            "http:// URL, else Google's)",
        )
        p.add_argument(
            "--monitoring-endpoint",
            metavar="URL",
            help="Cloud Monitoring (gRPC) for quota usage: https://HOST, or http://127.0.0.1:PORT "
            "for the emulator (default: Google's; none beside a loopback --quotas-endpoint)",
        )
    from pathlib import Path

    p.add_argument("--config", type=Path, metavar="PATH", help="config file")
    p.add_argument("--interval", type=number, metavar="S", help="seconds between batches")
    p.add_argument("--rewarm", type=number, metavar="S", help="seconds between re-warms")
    p.add_argument("--timeout", type=number, metavar="S", help="per-request timeout")
    p.add_argument("--gpu-service", choices=("compute", "vertex"), help="VMs or Vertex AI")
    p.add_argument("--spot", action="store_true", default=None, help="the Spot GPU quota")
    p.add_argument("--c3-service", choices=("compute", "cloudbuild"), help="VMs or Cloud Build")
    p.add_argument(
        "--launch",
        action="append",
        metavar="SHAPE",
        help="judge this launch too, as a [[launch]] (a3-highgpu-8g, 8xH100; repeatable)",
    )


def settings_from(args: argparse.Namespace) -> Settings:
    from trayapp import paths
    from trayapp.config import check_endpoint
    from trayapp.config import load as load_config

    config_path = args.config or paths.config_file()
    settings = load_config(config_path, required=args.config is not None)
    endpoint = getattr(args, "endpoint", None)
    quotas_endpoint = getattr(args, "quotas_endpoint", None)
    monitoring = getattr(args, "monitoring_endpoint", None)
    settings = settings.with_overrides(
        projects=args.project,
        interval_s=args.interval,
        rewarm_s=args.rewarm,
        timeout_s=args.timeout,
        **{k: getattr(args, k, None) for k in ("gpu_service", "spot", "c3_service")},
        endpoint=check_endpoint(endpoint, "--endpoint") if endpoint else None,
        quotas_endpoint=(
            check_endpoint(quotas_endpoint, "--quotas-endpoint") if quotas_endpoint else None
        ),
        monitoring_endpoint=(
            check_endpoint(monitoring, "--monitoring-endpoint") if monitoring else None
        ),
    )
    return with_launches(settings, args.launch or ())


def with_launches(settings: Settings, shapes: Sequence[str]) -> Settings:
    """``--launch`` shapes beside the config's ``[[launch]]``, read as the GPU checks are."""
    from dataclasses import replace

    from trayapp.settings.launches import build

    added = tuple(
        build(
            f"--launch {shape}",
            shape,
            1,
            service=settings.gpu_service,
            spot=settings.spot,
            name="",
            settings=settings,
        )
        for shape in shapes
    )
    return replace(settings, launches=tuple(dict.fromkeys(settings.launches + added)))


MIN_REAL_REWARM_S = 60.0  # Google's API: a re-warm period shorter than this is for the emulator


def check_rewarm(settings: Settings) -> Settings:
    """``settings``, unless their re-warm period is below a minute against the real API: it
    would ask Google for every quota many times a minute (tests and the demo use short ones
    on loopback)."""
    from urllib.parse import urlsplit

    from trayapp.config import ConfigError
    from trayapp.sources.base import is_loopback_host

    if settings.rewarm_s >= MIN_REAL_REWARM_S:
        return settings
    urls = [settings.cloudquotas_endpoint]
    if settings.plan().uses_compute:
        urls.insert(0, settings.endpoint)
    for url in urls:
        if not (url.startswith("http://") and is_loopback_host(urlsplit(url).hostname or "")):
            raise ConfigError(
                f"--rewarm {settings.rewarm_s:g} (rewarm_s) is below a minute: against "
                f"{url} re-warm every 60 s or more (shorter periods are for the emulator)"
            )
    return settings


def demo_settings(
    settings: Settings,
    args: argparse.Namespace,
    endpoint: str | None,
    monitoring: str | None = None,
) -> Settings:
    """The demo project against the emulator (``monitoring``: its Cloud Monitoring), with
    time scaled by ``--speed``."""
    from trayapp.warming.levels import Thresholds

    speed, t = args.speed, settings.thresholds
    return settings.with_overrides(
        projects=args.project or [DEMO_PROJECT],
        endpoint=endpoint,
        quotas_endpoint=endpoint,  # the emulator serves both APIs
        monitoring_endpoint=monitoring or None,
        interval_s=settings.interval_s / speed,
        thresholds=Thresholds(t.warn_ms / speed, t.slowish_ms / speed, t.slow_ms / speed),
    )


def source_recipe(settings: Settings) -> SourceRecipe:
    """What the fetcher process builds its source from: the endpoints in effect, the timeout
    and the quota project, as plain values."""
    from trayapp.sources.recipe import SourceRecipe

    return SourceRecipe(
        settings.endpoint,
        timeout_s=settings.timeout_s,
        quotas_endpoint=settings.cloudquotas_endpoint,
        prepare_compute=settings.plan().uses_compute,
        quota_project=settings.quota_project,
        monitoring_endpoint=settings.monitoring_endpoint,
    )
