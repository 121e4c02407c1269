"""The GTK status icon and the AppIndicator icon, fed the app's images without temp files.

``gtk`` (PyGObject) is an XEmbed status icon: left click runs the default item, right click
opens the menu, and images are handed over as in-memory pixbufs at the tray's exact size.
``appindicator`` is a StatusNotifierItem: every click opens the menu, and it is pointed at the
shipped PNGs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from trayapp.ui.backends.gtk_menu import gtk_menu_mixin


def gtk_copy(text: str) -> None:
    """Put ``text`` on the clipboard and the primary selection (Ctrl+V and middle click);
    call it on the GTK thread, as menu actions are."""
    from gi.repository import Gdk, Gtk

    for selection in (Gdk.SELECTION_CLIPBOARD, Gdk.SELECTION_PRIMARY):
        Gtk.Clipboard.get(selection).set_text(text, -1)


def gtk_icon_class(base: type) -> type:
    from gi.repository import GdkPixbuf, GLib, Gtk
    from PIL import Image
    from pystray._util.gtk import mainloop

    def tray_pixels(size: int) -> int:
        # GtkStatusIcon shows the largest stock icon size that fits the tray (16/24/32/48)
        # and scales anything bigger down bilinearly; render exactly that size ourselves.
        best, best_gap = 0, None
        for stock in (
            Gtk.IconSize.MENU,
            Gtk.IconSize.SMALL_TOOLBAR,
            Gtk.IconSize.LARGE_TOOLBAR,
            Gtk.IconSize.BUTTON,
            Gtk.IconSize.DND,
            Gtk.IconSize.DIALOG,
        ):
            ok, width, height = Gtk.icon_size_lookup(stock)
            gap = max(size - width, size - height)
            if ok and gap >= 0 and (best_gap is None or gap < best_gap):
                best, best_gap = max(width, height), gap
        return best or size

    class GtkTrayIcon(gtk_menu_mixin(), base):  # type: ignore[misc, valid-type]
        """pystray's GTK icon fed in-memory pixbufs (no temp files), with a tooltip."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            self._pixbufs: dict[tuple[int, int], Any] = {}
            super().__init__(*args, **kwargs)
            self._status_icon.connect("size-changed", self._on_size_changed)

        def _pixbuf(self, image: Image.Image, pixels: int) -> Any:
            key = (id(image), pixels)
            cached = self._pixbufs.get(key)
            if cached is None:
                sized = image.convert("RGBA")
                if sized.size != (pixels, pixels):
                    sized = sized.resize((pixels, pixels), Image.Resampling.LANCZOS)
                cached = GdkPixbuf.Pixbuf.new_from_bytes(
                    GLib.Bytes.new(sized.tobytes()),
                    GdkPixbuf.Colorspace.RGB,
                    True,
                    8,
                    pixels,
                    pixels,
                    pixels * 4,
                )
                self._pixbufs[key] = cached
            return cached

        def _show_image(self, size: int | None = None) -> None:
            image = self.icon
            if image is None:
                return
            size = self._status_icon.get_size() if size is None else size
            pixels = tray_pixels(size) if size > 0 else max(image.size)
            self._status_icon.set_from_pixbuf(self._pixbuf(image, pixels))
            self._icon_valid = True

        @mainloop
        def _update_icon(self) -> None:
            self._show_image()

        def _on_size_changed(self, _status_icon: Any, size: int) -> bool:
            self._show_image(size)
            return True  # handled: GTK must not rescale

        @mainloop
        def _update_title(self) -> None:
            self._status_icon.set_title(self.title)
            self._status_icon.set_tooltip_text(self.title)

    return GtkTrayIcon


def appindicator_icon_class(base: type, paths: dict[int, Path]) -> type:
    class AppIndicatorTrayIcon(gtk_menu_mixin(), base):  # type: ignore[misc, valid-type]
        """pystray's AppIndicator icon pointed at the shipped PNGs instead of temp files."""

        _temp_file = False

        def _update_fs_icon(self) -> None:
            path = paths.get(id(self.icon))
            if path is None:
                self._temp_file = True
                super()._update_fs_icon()
                return
            self._temp_file = False
            self._icon_path = str(path)
            self._icon_valid = True

        def _remove_fs_icon(self) -> None:
            if self._temp_file:
                super()._remove_fs_icon()  # a file pystray wrote: delete it
                return
            self._icon_path = None  # one of ours: never delete package data
            self._icon_valid = False

    return AppIndicatorTrayIcon
