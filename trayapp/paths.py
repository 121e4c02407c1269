"""Where our files live (platformdirs; on Linux it follows the XDG variables)."""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pathlib import Path

    from platformdirs import PlatformDirs

APP = "quota-tray"
# Linux: platformdirs' own rule (the variable, else the default under home), without importing
# platformdirs or pathlib, which together cost `quota-tray show` a third of its start-up.
_XDG = {
    "cache": ("XDG_CACHE_HOME", "~/.cache"),
    "config": ("XDG_CONFIG_HOME", "~/.config"),
    "state": ("XDG_STATE_HOME", "~/.local/state"),
}


def _dirs() -> PlatformDirs:
    from platformdirs import PlatformDirs

    return PlatformDirs(APP, appauthor=False)


def _xdg(kind: str) -> str | None:
    if not sys.platform.startswith("linux"):
        return None
    variable, default = _XDG[kind]
    base = os.environ.get(variable, "")
    base = base if base.strip() else os.path.expanduser(default)  # noqa: PTH111
    return os.path.join(base, APP)  # noqa: PTH118


def cache_location() -> str:
    """The cache folder as a string: what ``show`` needs, without pathlib."""
    return _xdg("cache") or _dirs().user_cache_dir


def cache_dir() -> Path:
    from pathlib import Path

    return Path(cache_location())


def config_file() -> Path:
    from pathlib import Path

    return Path(_xdg("config") or _dirs().user_config_dir, "config.toml")


def log_dir() -> Path:
    from pathlib import Path

    state = _xdg("state")
    return Path(state, "log") if state else Path(_dirs().user_log_dir)


def state_dir() -> Path:
    from pathlib import Path

    return Path(_xdg("state") or _dirs().user_state_dir)
