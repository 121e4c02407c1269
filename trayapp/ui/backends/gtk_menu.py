"""The start-up and menu fixes both GTK-based backends (``gtk`` and ``appindicator``) share.

pystray's GTK start-up resets SIGINT and starts a D-Bus notifier of its own, and every menu
update replaces an open menu under the pointer; the mixin here keeps the app's Ctrl+C handler,
hands pystray a notifier that does nothing (notifications go through plyer) and relabels an
open menu in place.
"""

from __future__ import annotations

from typing import Any


class _NoNotifier:
    """Stands in for pystray's notifier: the app's notifications go through plyer."""

    def notify(self, *_: Any) -> None:
        return None

    def hide(self) -> None:
        return None


def gtk_menu_mixin() -> type:
    """What both GTK-based icons mix in before pystray's own class: a quiet start and a menu
    that is relabelled while open."""
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
