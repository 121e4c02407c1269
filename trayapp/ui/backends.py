"""pystray backends: which one to use, whether a tray can be shown, and the fixes each needs.

* ``gtk`` (PyGObject): XEmbed status icon; left click runs the default item, right click opens
  the menu. Images are handed over as in-memory pixbufs at the tray's exact size.
* ``appindicator``: StatusNotifierItem; every click opens the menu (no default action).
* ``xorg`` (python-xlib only): no menu, no transparency (images are flattened onto a
  background colour), a Latin-1 window title, and left clicks only arrive because the icon
  window is made to select ``ButtonPressMask``.

pystray picks its backend when it is imported, so the choice is made before that.
"""

from __future__ import annotations

import logging
import os
import queue
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from PIL import Image


log = logging.getLogger(__name__)

# --- backend choice ---------------------------------------------------------------------------


def _session_bus_configured() -> bool:
    runtime_dir = os.environ.get("XDG_RUNTIME_DIR")
    return bool(os.environ.get("DBUS_SESSION_BUS_ADDRESS")) or bool(
        runtime_dir and Path(runtime_dir, "bus").exists()
    )


def _gtk_available() -> bool:
    try:
        import gi

        gi.require_version("Gtk", "3.0")
        from gi.repository import Gtk  # noqa: F401
    except (ImportError, ValueError):
        return False
    return True


def _appindicator_available() -> bool:
    import gi

    for namespace in ("AyatanaAppIndicator3", "AppIndicator3"):
        try:
            gi.require_version(namespace, "0.1")
        except ValueError:
            continue
        return True
    return False


def _status_notifier_host() -> bool:
    """Whether a StatusNotifier watcher (KDE, GNOME extension, waybar...) is on the bus."""
    if not _session_bus_configured():
        return False  # never let GLib autolaunch a bus just to ask
    try:
        from gi.repository import Gio, GLib

        bus = Gio.bus_get_sync(Gio.BusType.SESSION, None)
        reply = bus.call_sync(
            "org.freedesktop.DBus",
            "/org/freedesktop/DBus",
            "org.freedesktop.DBus",
            "NameHasOwner",
            GLib.Variant("(s)", ("org.kde.StatusNotifierWatcher",)),
            GLib.VariantType("(b)"),
            Gio.DBusCallFlags.NONE,
            1000,
            None,
        )
        return bool(reply.unpack()[0])
    except Exception:
        return False


def choose_backend() -> str | None:
    """The pystray backend to use: ``PYSTRAY_BACKEND`` if set, else GTK when PyGObject works
    (AppIndicator where a StatusNotifier host runs), else xorg. None leaves it to pystray
    (Windows, macOS)."""
    chosen = os.environ.get("PYSTRAY_BACKEND")
    if chosen:
        return chosen
    if sys.platform in ("win32", "darwin"):
        return None
    if not _gtk_available():
        return "xorg"
    if _status_notifier_host() and _appindicator_available():
        return "appindicator"
    return "gtk"


def _import_pystray(backend: str | None) -> ModuleType:
    """Import pystray with ``backend`` (pystray reads PYSTRAY_BACKEND once, at import)."""
    loaded = sys.modules.get("pystray")
    if loaded is not None:
        return loaded
    previous = os.environ.get("PYSTRAY_BACKEND")
    if backend:
        os.environ["PYSTRAY_BACKEND"] = backend
    try:
        import pystray
    finally:
        if previous is None:
            os.environ.pop("PYSTRAY_BACKEND", None)
        else:
            os.environ["PYSTRAY_BACKEND"] = previous
    return pystray


def load_pystray() -> tuple[ModuleType, str]:
    """pystray imported with the chosen backend (falling back to xorg when GTK will not start,
    unless the user forced a backend), and the name of the backend it got."""
    chosen = choose_backend()
    candidates = [chosen] if os.environ.get("PYSTRAY_BACKEND") else [chosen, "xorg"]
    errors: list[BaseException] = []
    for backend in dict.fromkeys(candidates):
        try:
            module = _import_pystray(backend)
        except Exception as exc:  # Xlib raises its own errors at import, not ImportError
            errors.append(exc)
            continue
        return module, backend_name(module)
    raise errors[-1]


def backend_name(pystray: ModuleType) -> str:
    """``gtk``, ``appindicator``, ``xorg``, ... for an imported pystray."""
    return pystray.Icon.__module__.rsplit(".", 1)[-1].lstrip("_")


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    detail = text[0] if text else ""
    name = type(exc).__name__
    return f"{name}: {detail}" if detail else name


def _x11_tray_owner_missing() -> str | None:
    """Why no XEmbed tray can take the icon on $DISPLAY (None when a tray host is there)."""
    try:
        from Xlib import X
        from Xlib import display as xdisplay

        conn = xdisplay.Display()
    except Exception as exc:
        return f"cannot open X display {os.environ.get('DISPLAY', '')!r}: {_one_line(exc)}"
    try:
        selection = f"_NET_SYSTEM_TRAY_S{conn.get_default_screen()}"
        owner = conn.get_selection_owner(conn.intern_atom(selection))
        if owner in (None, X.NONE) or getattr(owner, "id", owner) == X.NONE:
            return (
                f"no system tray on {conn.get_display_name()}: nothing owns {selection}"
                " (no panel with a notification area is running)"
            )
        return None
    except Exception as exc:
        return f"cannot query the X display: {_one_line(exc)}"
    finally:
        conn.close()


def tray_unavailable_reason() -> str | None:
    """One line saying why no tray icon can be shown here, or None when one can.

    Lets the caller fall back to headless with a clear message instead of a traceback.
    """
    if sys.platform in ("win32", "darwin"):
        return None
    has_x = bool(os.environ.get("DISPLAY"))
    if not has_x and not os.environ.get("WAYLAND_DISPLAY"):
        return "no graphical session: neither DISPLAY nor WAYLAND_DISPLAY is set"
    try:
        pystray, backend = load_pystray()
    except Exception as exc:
        return f"pystray cannot start: {_one_line(exc)}"
    del pystray
    return _host_missing(backend, has_x)


def _host_missing(backend: str, has_x: bool) -> str | None:
    """Why the backend's kind of tray host is absent (None when it is there)."""
    if backend not in ("gtk", "xorg", "appindicator"):
        return None  # a platform backend: the platform always has a tray
    if backend == "appindicator" and _status_notifier_host():
        return None
    if not has_x:
        return (
            "no StatusNotifier host on the session bus and no X11 display for a classic system tray"
        )
    return _x11_tray_owner_missing()


# --- pystray icon classes ---------------------------------------------------------------------


def xorg_icon_class(base: type, background: tuple[int, int, int]) -> type:
    from PIL import Image
    from Xlib import X
    from Xlib import display as xdisplay
    from Xlib.protocol import event as xevent

    class XorgTrayIcon(base):  # type: ignore[misc, valid-type]
        """pystray's xorg icon with clicks delivered, a start-up race closed, docking
        retried until a tray really embeds the icon, and no re-docking on every update."""

        DISPATCHED = ("_show", "_hide", "_update_icon", "_update_title", "_stop")
        CALL_TIMEOUT_S = 5.0

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            self._dock_stop = threading.Event()
            self._dock_watch: threading.Thread | None = None
            self._embedded = False
            self._wake_lock = threading.Lock()
            self._wake: Any = None
            super().__init__(*args, **kwargs)
            self._message_handlers[X.ReparentNotify] = self._on_reparent
            for name in self.DISPATCHED:
                setattr(self, name, self._dispatcher(name))

        def _dispatcher(self, name: str) -> Callable[[], None]:
            # pystray runs these on its X thread by sending itself a ClientMessage, but it
            # sends and flushes on the X thread's own connection from the calling thread.
            # python-xlib can then lose the X thread's reply and both threads hang. Send the
            # wake-up on a connection of our own instead, and never wait without a deadline.
            method = getattr(type(self), name).__get__(self)
            atom_name = f"_PYSTRAY_{name.upper()}"

            def call() -> None:
                thread = getattr(self, "_thread", None)
                if thread is None or thread is threading.current_thread():
                    method()  # the loop is not running yet, or this is the loop
                    return
                with self._wake_lock:
                    if self._wake is None:
                        self._wake = xdisplay.Display(self._display.get_display_name())
                    wake = self._wake
                    target = wake.create_resource_object("window", self._window.id)
                    target.send_event(
                        xevent.ClientMessage(
                            window=target,
                            client_type=wake.intern_atom(atom_name),
                            data=(32, (X.CurrentTime, 0, 0, 0, 0)),
                        ),
                        event_mask=X.NoEventMask,
                    )
                    wake.flush()
                    try:
                        result = self._queue.get(timeout=self.CALL_TIMEOUT_S)
                    except queue.Empty:
                        log.warning("the tray's X thread did not run %s in time", name)
                        return
                if result is not True:
                    raise result[1].with_traceback(result[2])

            return call

        def _on_reparent(self, event: Any) -> None:
            if event.window.id == self._window.id:
                self._embedded = event.parent.id != self._display.screen().root.id

        def _update_icon(self) -> None:
            # pystray asks the tray to dock the icon again on every image change, and trayer
            # answers by re-embedding it in a new socket; once embedded, only redraw.
            if not self._embedded:
                super()._update_icon()
                return
            self._icon_data = None
            self._draw()
            self._icon_valid = True

        def _create_window(self) -> Any:
            window = super()._create_window()
            # Without ButtonPressMask the server never reports clicks on the icon.
            window.change_attributes(
                event_mask=X.ExposureMask | X.StructureNotifyMask | X.ButtonPressMask
            )
            return window

        def _run(self) -> None:
            # Calls from other threads compare against _thread; set it before they can come.
            self._thread = threading.current_thread()
            self._mark_ready()
            self._mainloop()

        def _show(self) -> None:
            super()._show()
            self._watch_docking()

        def _on_destroy_notify(self, event: Any) -> None:
            super()._on_destroy_notify(event)
            self._watch_docking()  # the tray went away: dock again when one comes back

        def _stop(self) -> None:
            self._dock_stop.set()
            super()._stop()

        def _mainloop(self) -> None:
            try:
                super()._mainloop()
            finally:
                with self._wake_lock:
                    if self._wake is not None:
                        self._wake.close()
                        self._wake = None

        def _assert_icon_data(self, width: int, height: int) -> None:
            # pystray stretches the image to the slot (24x38 in some trays); keep it square,
            # centred on the same opaque background the images were flattened onto.
            if self._icon_data and self._icon_data.size == (width, height):
                return
            side = max(1, min(width, height))
            canvas = Image.new("RGB", (width, height), background)
            square = self._icon.convert("RGB").resize((side, side), Image.Resampling.LANCZOS)
            canvas.paste(square, ((width - side) // 2, (height - side) // 2))
            self._icon_data = canvas

        def _watch_docking(self) -> None:
            # pystray asks the tray once; a tray that is still starting, or that restarts,
            # drops the request and the icon never appears. Keep asking until embedded.
            if self._dock_watch is not None and self._dock_watch.is_alive():
                return
            self._dock_watch = threading.Thread(
                target=self._dock_until_embedded, name="tray-dock", daemon=True
            )
            self._dock_watch.start()

        def _dock_until_embedded(self) -> None:
            try:
                conn = xdisplay.Display(self._display.get_display_name())
            except Exception:
                return
            try:
                window = conn.create_resource_object("window", self._window.id)
                root = conn.screen().root
                selection = conn.intern_atom(f"_NET_SYSTEM_TRAY_S{conn.get_default_screen()}")
                opcode = conn.intern_atom("_NET_SYSTEM_TRAY_OPCODE")
                delay = 0.5
                while not self._dock_stop.wait(delay):
                    if window.query_tree().parent.id != root.id:
                        return  # embedded
                    owner = conn.get_selection_owner(selection)
                    if owner != X.NONE:
                        message = xevent.ClientMessage(
                            window=owner,
                            client_type=opcode,
                            data=(
                                32,
                                (X.CurrentTime, self._SYSTEM_TRAY_REQUEST_DOCK, window.id, 0, 0),
                            ),
                        )
                        owner.send_event(message, event_mask=X.NoEventMask)
                        conn.flush()
                    delay = min(delay * 2, 30.0)
            except Exception:
                return  # the icon window is gone: the icon stopped
            finally:
                conn.close()

    return XorgTrayIcon


class _NoNotifier:
    """Stands in for pystray's notifier: the app's notifications go through plyer."""

    def notify(self, *_: Any) -> None:
        return None

    def hide(self) -> None:
        return None


def _gtk_menu_mixin() -> type:
    from pystray._util.gtk import mainloop

    class LiveMenu:
        """Relabels an open menu in place instead of replacing it under the pointer."""

        _menu_handle: Any = None  # pystray only sets it on the first menu update
        _rebuild_on_hide = False
        menu: Any

        @mainloop
        def _update_menu(self) -> None:
            handle = self._menu_handle
            if handle is not None and handle.get_visible() and self._relabel(handle):
                return
            self._rebuild_on_hide = False
            rebuild = super()._update_menu  # type: ignore[misc]
            # Already on the GTK thread: run the undecorated body now rather than queueing
            # it again, so the menu exists before pystray's queued _show() looks for it.
            body = getattr(rebuild, "__wrapped__", None)
            if body is not None:
                body(self)
            else:
                rebuild()

        def _initialize(self) -> None:
            # pystray's own start-up does two things this app must not have:
            # * SIGINT set to SIG_DFL, so Ctrl+C would kill the process before the warmer stops
            #   and logs FINAL_STATS (the app's own handler stays);
            # * a D-Bus notifier of its own, which blocks docking for 25 s behind a hung
            #   notification daemon and, at exit, raises or waits when none answers. This app
            #   notifies through trayapp.ui.notify, so pystray gets one that does nothing.
            self._notifier = _NoNotifier()
            self._mark_ready()

        def _relabel(self, handle: Any) -> bool:
            from pystray import Menu

            descriptors = list(self.menu or ())
            children = handle.get_children()
            if len(descriptors) != len(children):
                return False
            for descriptor, child in zip(descriptors, children, strict=True):
                if descriptor is Menu.SEPARATOR:
                    continue
                if not descriptor.default and child.get_label() != descriptor.text:
                    child.set_label(descriptor.text)
                child.set_sensitive(descriptor.enabled)
                stale = descriptor.checked is not None and descriptor.checked != child.get_active()
                stale = stale or _submenu_changed(descriptor, child)
                if stale and not self._rebuild_on_hide:
                    # Setting it would activate the item: rebuild once the menu closes.
                    self._rebuild_on_hide = True
                    handle.connect("hide", lambda *_: self._update_menu())
            return True

    return LiveMenu


def _submenu_changed(descriptor: Any, child: Any) -> bool:
    """Whether an open menu's submenu shows other lines than its descriptor now has."""
    if not descriptor.submenu:
        return False
    shown = child.get_submenu()
    if shown is None:
        return True
    wanted = [item.text for item in descriptor.submenu]
    return [c.get_label() for c in shown.get_children()] != wanted


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

    class GtkTrayIcon(_gtk_menu_mixin(), base):  # type: ignore[misc, valid-type]
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
    class AppIndicatorTrayIcon(_gtk_menu_mixin(), base):  # type: ignore[misc, valid-type]
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
