"""The log says which tray backend shows the icon, or why there is none, so an icon missing at
login can be explained from the log alone. The real app on a private desktop."""

from __future__ import annotations

from pathlib import Path

import pytest
from desktop import Desktop, desktop, desktop_without_tray  # noqa: F401
from test_app_desktop import DemoApp, backend  # noqa: F401

pytestmark = pytest.mark.desktop


def test_the_log_names_the_backend_that_shows_the_icon(
    desktop: Desktop,  # noqa: F811
    backend: str,  # noqa: F811
    tmp_path: Path,
) -> None:
    app = DemoApp(desktop, tmp_path, "--speed", "20", backend=backend)
    try:
        app.icon()
        [line] = app.wait_log("CACHE_WARM_TRAY")
        assert f"🖥️ CACHE_WARM_TRAY: the icon shown by the {backend} backend" in line
        assert app.cli("quit", "--demo").returncode == 0
        assert app.wait_exit() == 0, app.describe()
    finally:
        app.close()


def test_the_log_says_why_there_is_no_icon(
    desktop_without_tray: Desktop,  # noqa: F811
    tmp_path: Path,
) -> None:
    desk = desktop_without_tray
    app = DemoApp(desk, tmp_path, "--speed", "20", backend="xorg")
    try:
        [line] = app.wait_log("CACHE_WARM_TRAY")
        assert (
            f"CACHE_WARM_TRAY: none: no system tray on {desk.display}: nothing owns "
            "_NET_SYSTEM_TRAY_S0"
        ) in line
        assert line.endswith("; running headless")
        assert app.cli("quit", "--demo").returncode == 0
        assert app.wait_exit() == 0, app.describe()
    finally:
        app.close()
