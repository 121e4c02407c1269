"""The GTK tray keeps Mesa's GL out of its process even as the first GTK client of an X
server (about 50 MB it never uses), and the setting that does it never reaches the programs
the tray opens. Each test has an X server of its own, where no GTK 3 client ran before."""

from __future__ import annotations

from pathlib import Path

import pytest
from desktop import Desktop, desktop, require_gtk  # noqa: F401
from test_tray_desktop import TrayProcess


@pytest.mark.desktop
def test_the_first_gtk_client_maps_no_gl_and_passes_no_setting_on(
    desktop: Desktop,  # noqa: F811
    tmp_path: Path,
) -> None:
    require_gtk()
    tray = TrayProcess(desktop, "gtk", tmp_path)
    try:
        tray.icon()
        state = tray.event("BATCH_WARM", done=15, elapsed_ms=812, level="fire")
        assert state["backend"] == "gtk"
        assert state["mesa_kb"] == 0, f"Mesa GL mapped in the tray: {state['mesa_kb']} kB"
        assert state["gdk_gl"] is None  # the image viewer and the editor start without it
    finally:
        tray.close()
