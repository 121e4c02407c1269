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


def config_file() -> Path:
    return Path(_dirs().user_config_dir) / "config.toml"


def log_dir() -> Path:
    return Path(_dirs().user_log_dir)


def state_dir() -> Path:
    return Path(_dirs().user_state_dir)
