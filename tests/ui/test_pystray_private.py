"""pystray's private parts that the tray's backends override or reach into, one test each, so
a pystray release that renames or removes one fails here, naming what breaks, instead of a tray
that silently stops docking, relabelling its menu or taking clicks.

pystray is pinned in pyproject.toml to the versions these were checked against. The sources are
read, not imported: importing pystray picks a backend and needs a display.
"""

from __future__ import annotations

import ast
import functools
import importlib.util
import tomllib
from importlib.metadata import version
from pathlib import Path

import pytest
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[2]
GTK_MENU = "trayapp/ui/backends/gtk_menu.py"
GTK = "trayapp/ui/backends/gtk.py"
XORG = "trayapp/ui/backends/xorg.py"
TRAY = "trayapp/ui/tray.py"

# (pystray module, private name, who relies on it and for what)
USED = [
    ("_util/gtk.py", "mainloop", f"{GTK_MENU} and {GTK}: run updates on the GTK thread"),
    ("_gtk.py", "_menu_handle", f"{GTK_MENU}: relabel an open menu in place"),
    ("_appindicator.py", "_menu_handle", f"{GTK_MENU}: relabel an open menu in place"),
    ("_base.py", "_update_menu", f"{GTK_MENU}: menu rebuilds"),
    ("_util/gtk.py", "_initialize", f"{GTK_MENU}: keep Ctrl+C and drop pystray's notifier"),
    ("_util/gtk.py", "_notifier", f"{GTK_MENU}: a notifier that does nothing"),
    ("_base.py", "_mark_ready", f"{GTK_MENU} and {XORG}: tell pystray the icon is set up"),
    ("_gtk.py", "_status_icon", f"{GTK}: in-memory pixbufs at the tray's size"),
    ("_base.py", "_icon_valid", f"{GTK} and {XORG}: mark the drawn image current"),
    ("_base.py", "_update_icon", f"{GTK} and {XORG}: draw images"),
    ("_base.py", "_update_title", f"{GTK}: tooltip"),
    ("_util/gtk.py", "_update_fs_icon", f"{GTK}: AppIndicator points at the shipped PNGs"),
    ("_util/gtk.py", "_remove_fs_icon", f"{GTK}: never delete the shipped PNGs"),
    ("_util/gtk.py", "_icon_path", f"{GTK}: AppIndicator's image path"),
    ("_base.py", "_running", f"{TRAY}: stop() before or during run()"),
    ("_xorg.py", "_display", f"{XORG}: wake the X thread on a connection of our own"),
    ("_xorg.py", "_window", f"{XORG}: the icon window (clicks, docking)"),
    ("_xorg.py", "_queue", f"{XORG}: results of calls run on the X thread"),
    ("_xorg.py", "_thread", f"{XORG}: which thread runs the X loop"),
    ("_xorg.py", "_message_handlers", f"{XORG}: see ReparentNotify (docked or not)"),
    ("_xorg.py", "_icon_data", f"{XORG}: redraw without re-docking"),
    ("_xorg.py", "_draw", f"{XORG}: redraw without re-docking"),
    ("_xorg.py", "_create_window", f"{XORG}: select ButtonPressMask so clicks arrive"),
    ("_xorg.py", "_on_destroy_notify", f"{XORG}: dock again when the tray comes back"),
    ("_xorg.py", "_show", f"{XORG}: watch docking"),
    ("_xorg.py", "_hide", f"{XORG}: dispatched to the X thread"),
    ("_xorg.py", "_stop", f"{XORG}: stop the docking watch"),
    ("_xorg.py", "_run", f"{XORG}: set the X thread before calls arrive"),
    ("_xorg.py", "_mainloop", f"{XORG}: close our wake-up connection"),
]


def _pystray_dir() -> Path:
    spec = importlib.util.find_spec("pystray")  # finds, does not import
    assert spec is not None and spec.submodule_search_locations, "pystray is not installed"
    return Path(next(iter(spec.submodule_search_locations)))


@functools.cache
def _defined(module: str) -> frozenset[str]:
    """Names a pystray module defines: functions, methods, class attributes and ``self.X``."""
    tree = ast.parse((_pystray_dir() / module).read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
            if isinstance(node.value, ast.Name) and node.value.id == "self":
                names.add(node.attr)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
    return frozenset(names)


@pytest.mark.parametrize(("module", "name", "used_by"), USED, ids=[f"{m}:{n}" for m, n, _ in USED])
def test_pystray_still_has_the_private_part_we_use(module, name, used_by):
    assert (_pystray_dir() / module).is_file(), (
        f"pystray {version('pystray')} has no {module} any more: {used_by}; adapt it to the "
        "new version and the pin in pyproject.toml"
    )
    assert name in _defined(module), (
        f"pystray {version('pystray')} no longer defines {name} in pystray/{module}: "
        f"{used_by}; adapt it to the new version and the pin in pyproject.toml"
    )


def test_pystray_mainloop_keeps_the_undecorated_function():
    """gtk_menu.py runs pystray's own menu rebuild at once through ``__wrapped__``."""
    source = (_pystray_dir() / "_util/gtk.py").read_text(encoding="utf-8")
    tree = ast.parse(source)
    (mainloop,) = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "mainloop"]
    assert "functools.wraps" in ast.unparse(mainloop), (
        f"pystray {version('pystray')}'s mainloop no longer wraps with functools.wraps: "
        f"{GTK_MENU} would queue the menu rebuild instead of running it; adapt it"
    )


def test_the_installed_pystray_is_within_the_pinned_range():
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    (pin,) = [Requirement(d) for d in deps if Requirement(d).name == "pystray"]
    assert pin.specifier, "pystray is not pinned: the private parts above are version-bound"
    assert version("pystray") in pin.specifier, (
        f"pystray {version('pystray')} is outside the tested range {pin.specifier}"
    )
