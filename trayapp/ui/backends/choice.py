"""Which pystray backend to import, and whether a tray host is there to show its icon.

pystray picks its backend when it is imported, so the choice is made before that; a missing
tray host is said in one line, so the app can fall back to headless instead of a traceback.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType


@contextlib.contextmanager
def gtk_without_gl() -> Iterator[None]:
    """Start GTK in this process without OpenGL, which the tray never uses.

    On an X server where the tray is the first GTK 3 client (a Qt desktop, a bare window
    manager), GDK probes GLX to choose its visuals and maps Mesa's software GL (libLLVM and a
    DRI driver, about 50 MB) for the life of the process. ``GDK_GL=disable`` stops that; GDK
    reads it once, when GTK starts here (the first ``from gi.repository import Gtk``), so it is
    set for that moment only and removed right after: the programs the tray opens (the image
    viewer, the log's editor) never inherit it. A ``GDK_GL`` the user set is left alone.
    """
    if "GDK_GL" in os.environ or "gi.repository.Gtk" in sys.modules:
        yield
        return
    os.environ["GDK_GL"] = "disable"
    try:
        yield
    finally:
        os.environ.pop("GDK_GL", None)


def _session_bus_configured() -> bool:
    runtime_dir = os.environ.get("XDG_RUNTIME_DIR")
    return bool(os.environ.get("DBUS_SESSION_BUS_ADDRESS")) or bool(
        runtime_dir and Path(runtime_dir, "bus").exists()
    )


def _gtk_available() -> bool:
    try:
        import gi

        gi.require_version("Gtk", "3.0")
        with gtk_without_gl():
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
        with gtk_without_gl():  # a forced gtk or appindicator backend starts GTK here
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
