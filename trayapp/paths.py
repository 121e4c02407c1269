"""Where our files live (platformdirs; on Linux it follows the XDG variables)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from platformdirs import PlatformDirs

APP = "quota-tray"


def _dirs() -> PlatformDirs:
    from platformdirs import PlatformDirs

    return PlatformDirs(APP, appauthor=False)


def cache_dir() -> Path:
    return Path(_dirs().user_cache_dir)


def cache_file(demo: bool = False) -> Path:
    """The quota cache; the demo keeps its own in a ``demo`` folder beside it."""
    from trayapp.cache import FILENAME

    return cache_dir() / ("demo" if demo else "") / FILENAME


def config_file() -> Path:
    return Path(_dirs().user_config_dir) / "config.toml"


def log_dir() -> Path:
    return Path(_dirs().user_log_dir)


def state_dir() -> Path:
    return Path(_dirs().user_state_dir)
