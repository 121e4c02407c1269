"""The Quotas menu says, per ``[[launch]]``, where it fits, above the per-GPU lines, and a click
copies the best region; read from cache documents a real warm cycle wrote (emulator, real
clients), on the real GTK tray too. Without a launch the menu is what it was."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from desktop import Desktop, desktop, require_gtk, wait_for  # noqa: F401
from launch_docs import COMPUTE, COMPUTE_LINES, PLAIN, VERTEX, VERTEX_LINES, warmed_doc
from test_tray_desktop import TrayProcess, click_item, open_menu, submenu

from trayapp.ui.display import DisplayModel, quota_lines
from trayapp.warming.events import Event, Progress, WarmEvent


def shown(doc: dict[str, Any]) -> DisplayModel:
    model = DisplayModel(5)
    done = Progress(5, 5, 0, 0)
    model.apply(Event(WarmEvent.COMPLETE, 1, done, data={"failed": 0}, snapshot=doc))
    return model


def test_a_line_per_launch_above_the_gpu_lines_copies_its_best_region(tmp_path, make_emulator):
    emulator = make_emulator()
    doc = warmed_doc(tmp_path / "launches", emulator, COMPUTE)
    plain = warmed_doc(tmp_path / "plain", emulator, PLAIN)
    lines = shown(doc).display.quotas
    assert [line.text for line in lines[:2]] == COMPUTE_LINES
    assert [line.region for line in lines[:2]] == ["us-central1", None]  # blocked: nothing
    # below them, the menu of the same answers without a launch, unchanged
    assert lines[2:] == quota_lines(plain)
    assert shown(doc).display.answer == shown(plain).display.answer  # the xorg tooltip too


def test_a_launch_that_fits_only_on_a_limit_never_reads_fits(tmp_path, make_emulator):
    doc = warmed_doc(tmp_path / "home", make_emulator(), VERTEX)
    [line, *_] = shown(doc).display.quotas
    assert (line.text, line.region) == (VERTEX_LINES[0], "us-central1")
    assert "fits in" not in line.text


def test_without_a_launch_the_menu_is_unchanged(tmp_path, make_emulator):
    plain = warmed_doc(tmp_path / "home", make_emulator(), PLAIN)
    assert "launches" not in plain["projects"]["p-launch"]
    assert [line.text for line in quota_lines(plain)] == [
        "T4 · 8 free us-central1",
        "C3 · 24 free us-central1",
    ]


@pytest.mark.desktop
def test_gtk_quotas_submenu_copies_a_launchs_best_region(
    desktop: Desktop,  # noqa: F811
    tmp_path: Path,
    make_emulator: Any,
) -> None:
    require_gtk()
    doc = warmed_doc(tmp_path / "home", make_emulator(), COMPUTE)
    tray = TrayProcess(desktop, "gtk", tmp_path)
    try:
        slot = tray.icon()
        tray.event(kind="COMPLETE", done=5, data={"failed": 0}, snapshot=doc)
        wait_for(lambda: "warm" in tray.state()["title"], 10, "the cycle to complete")
        items = open_menu(tray, slot)
        click_item(tray, items["Quotas"])
        sub = wait_for(lambda: submenu(tray), 10, "the Quotas submenu to open")
        assert [i["label"] for i in sub][:4] == [
            *COMPUTE_LINES,
            "T4 · 8 free us-central1",
            "C3 · 24 free us-central1",
        ]
        assert [i["sensitive"] for i in sub][:2] == [True, False]
        click_item(tray, sub[0])
        wait_for(lambda: tray.state()["copied"] == ["us-central1"], 10, "the region to be copied")
        assert desktop.selection_text("CLIPBOARD") == "us-central1"
    finally:
        tray.close()
