"""pystray backends: which one to use, whether a tray can be shown, and the fixes each needs.

It imports nothing of trayapp; pystray, PyGObject, python-xlib and Pillow only once a backend
is used.

* ``gtk`` (PyGObject): XEmbed status icon; left click runs the default item, right click opens
  the menu. Images are handed over as in-memory pixbufs at the tray's exact size.
* ``appindicator``: StatusNotifierItem; every click opens the menu (no default action).
* ``xorg`` (python-xlib only): no menu, no transparency (images are flattened onto a
  background colour), a Latin-1 window title, and left clicks only arrive because the icon
  window is made to select ``ButtonPressMask``.

The choice and the tray-host check are in :mod:`.choice`; each backend's fixes in :mod:`.xorg`,
:mod:`.gtk` and (shared by both GTK-based ones) :mod:`.gtk_menu`.

These fixes override or read private parts of pystray; pyproject.toml pins pystray to the
versions they were tested with, and tests/ui/test_pystray_private.py names each part and who
relies on it, failing with that message when a pystray release changes one.
"""

from trayapp.ui.backends.choice import (
    backend_name,
    choose_backend,
    load_pystray,
    tray_unavailable_reason,
)
from trayapp.ui.backends.gtk import appindicator_icon_class, gtk_copy, gtk_icon_class
from trayapp.ui.backends.xorg import xorg_icon_class

__all__ = [
    "appindicator_icon_class",
    "backend_name",
    "choose_backend",
    "gtk_copy",
    "gtk_icon_class",
    "load_pystray",
    "tray_unavailable_reason",
    "xorg_icon_class",
]
