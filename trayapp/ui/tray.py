"""The tray icon: shows how warming goes, offers the few actions a person needs.

:class:`TrayApp` runs a pystray icon on the main thread (``run()`` blocks) and is an observer
of the warmer's events. Events arrive on the warmer's thread; the icon is touched only when
what it shows (image or text) actually changes, because redrawing on every tick flickers and
closes open menus. Nothing on the tray thread does network or disk I/O: images are loaded
before ``run()``, controller actions run on a worker thread, files open in short-lived threads.

Backends and their quirks live in :mod:`trayapp.ui.backends`; what is shown in
:mod:`trayapp.ui.display`; the menu and its actions in :mod:`trayapp.ui.tray_menu`.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from trayapp.warming.events import Event

if TYPE_CHECKING:
    from PIL import Image

    from trayapp.ui.notify import Notifier

from trayapp.ui.backends import (
    appindicator_icon_class,
    gtk_copy,
    gtk_icon_class,
    load_pystray,
    tray_unavailable_reason,
    xorg_icon_class,
)
from trayapp.ui.display import (
    APP_NAME,
    DEFAULT_XORG_BACKGROUND,
    Display,
    DisplayModel,
    latin1_title,
)
from trayapp.ui.tray_menu import Controller, TrayMenu, open_in_desktop

__all__ = ["Controller", "TrayApp", "tray_unavailable_reason"]


class TrayApp(TrayMenu):
    """The tray icon and its menu; an observer of the warmer's events.

    ``controller`` pauses, resumes and forces re-warms; ``notifier`` (optional) is switched by
    the Notifications item; ``on_quit`` is called from the tray thread when Quit is chosen
    (keep it quick: ``run()`` returns right after, and the real shutdown belongs there).
    ``opener`` opens a path or a web page (default: xdg-open / open / os.startfile); it runs in a
    short-lived thread. ``copier`` puts a region name on the clipboard when a Quotas line is
    clicked (default: GTK's clipboard, on the tray thread). ``clock`` (wall time) ages the
    data in the tooltip, looked at every ``age_every_s``. The backend comes from
    :func:`choose_backend` (``PYSTRAY_BACKEND`` overrides it); ``xorg_background`` is what the
    xorg backend shows behind the icon.
    """

    def __init__(
        self,
        controller: Controller,
        *,
        total: int,
        notifier: Notifier | None = None,
        on_quit: Callable[[], None] | None = None,
        log_path: Path | None = None,
        cache_dir: Path | None = None,
        opener: Callable[[Path | str], None] | None = None,
        show_stats: Callable[[], None] | None = None,
        copier: Callable[[str], None] | None = None,
        clock: Callable[[], float] = time.time,
        age_every_s: float = 15.0,
        name: str = APP_NAME,
        xorg_background: tuple[int, int, int] = DEFAULT_XORG_BACKGROUND,
    ) -> None:
        from trayapp.ui.icons import icon_path, load_icons

        self.controller = controller
        self.notifier = notifier
        self.on_quit = on_quit
        self.log_path = Path(log_path) if log_path is not None else None
        self.cache_dir = Path(cache_dir) if cache_dir is not None else None
        self._opener = opener or open_in_desktop
        self.show_stats = show_stats  # slow (SQLite, Pillow): always run off the tray thread
        paused = bool(getattr(controller, "paused", False))
        self.model = DisplayModel(total, paused=paused, clock=clock)
        self.age_every_s = age_every_s  # how often "updated 4 min ago" is looked at again
        self.push_counts = {"icon": 0, "title": 0, "menu": 0}
        self.copied: list[str] = []  # what the Quotas lines put on the clipboard
        self._copier = copier
        self._ticker = threading.Event()  # set when the icon goes away

        pystray, self.backend = load_pystray()
        if self._copier is None and self.backend in ("gtk", "appindicator"):
            self._copier = gtk_copy  # elsewhere (Windows, macOS) the lines are text only
        self._pystray = pystray
        images = load_icons(scale=2)  # read from disk now, never on the tray thread
        if self.backend == "xorg":
            from trayapp.ui.icons import flatten

            images = {key: flatten(image, xorg_background) for key, image in images.items()}
        self.images: dict[str, Image.Image] = images
        paths = {id(images[key]): icon_path(key, scale=2) for key in images}

        base = pystray.Icon
        if self.backend == "xorg":
            icon_class = xorg_icon_class(base, xorg_background)
        elif self.backend == "gtk":
            icon_class = gtk_icon_class(base)
        elif self.backend == "appindicator":
            icon_class = appindicator_icon_class(base, paths)
        else:
            icon_class = base

        self._state_lock = threading.Lock()
        self._push_lock = threading.Lock()
        self._worker_lock = threading.Lock()
        self._shown = self.model.display
        self._trouble: str | None = None  # what keeps failing, in the title until it ends
        self._trouble_shown: str | None = None
        self._live = False
        self._stop_requested = False
        self._actions: queue.SimpleQueue[Callable[[], None] | None] = queue.SimpleQueue()
        self._worker: threading.Thread | None = None
        self.icon = icon_class(
            name,
            icon=self.images[self._shown.key],
            title=self._title(self._shown),
            menu=self._menu(pystray),
        )

    # -- what is shown

    @property
    def display(self) -> Display:
        """What the tray shows (or will show once running)."""
        with self._state_lock:
            return self._shown

    @property
    def shown(self) -> bool:
        """Whether the icon is up (between the start of ``run()`` and its end)."""
        with self._state_lock:
            return self._live

    def _title(self, shown: Display, trouble: str | None = None) -> str:
        # The xorg backend has no menu: its tooltip carries the short answer as well. A quota
        # other than Compute VMs on-demand is named in every tooltip.
        text = f"{shown.text} · {shown.quota}" if shown.quota else shown.text
        if self.backend == "xorg" and shown.answer:
            text = f"{text} · {shown.answer}"
        if trouble:
            text = f"{text} · ⚠️ {trouble}"
        return latin1_title(text) if self.backend == "xorg" else text

    def show_troubles(self, shown: list[str], new: list[str]) -> None:
        """What keeps failing (see ``trayapp.warming.troubles``): in the title while it lasts,
        and one notification as each begins."""
        trouble = None
        if shown:
            trouble = shown[0] + (f" (and {len(shown) - 1} more)" if len(shown) > 1 else "")
        with self._state_lock:
            self._trouble = trouble
        self._push()
        if self.notifier is not None and new:
            from trayapp.ui.notices import APP_NAME, Notice, redact

            title = f"{APP_NAME}: keeps failing"
            self.notifier.post(*(Notice("error", title, redact(line), "error") for line in new))

    def on_event(self, event: Event) -> None:
        """Update what is shown; touches the icon only when image or text changed."""
        with self._state_lock:
            self.model.apply(event)
        self._push()

    def _push(self) -> None:
        # The xorg backend makes the caller wait for its thread, so pystray is called without
        # the state lock held (the tray thread's callbacks take that lock). Pushes are
        # serialised by their own lock, which tray-thread code never takes.
        with self._push_lock:
            with self._state_lock:
                wanted, trouble = self.model.display, self._trouble
                shown, old_trouble = self._shown, self._trouble_shown
                if not self._live or (wanted == shown and trouble == old_trouble):
                    return
                self._shown, self._trouble_shown = wanted, trouble
            if wanted.key != shown.key:
                self.icon.icon = self.images[wanted.key]
                self.push_counts["icon"] += 1
            if self._title(wanted, trouble) != self._title(shown, old_trouble):
                self.icon.title = self._title(wanted, trouble)
                self.push_counts["title"] += 1
            if wanted.text != shown.text or wanted.quotas != shown.quotas:
                self.icon.update_menu()
                self.push_counts["menu"] += 1

    # -- lifecycle

    def run(self) -> None:
        """Show the icon and handle its events until :meth:`stop`; call on the main thread."""
        if self._stop_requested:
            return
        self.icon.run(setup=self._setup)
        with self._state_lock:
            self._live = False

    def _setup(self, icon: Any) -> None:
        icon.visible = True
        with self._state_lock:
            self._live = True
        self._push()  # whatever arrived before the loop ran
        threading.Thread(target=self._tick, name="tray-age", daemon=True).start()
        if self._stop_requested:
            icon.stop()

    def _tick(self) -> None:
        """ "updated 4 min ago" ages with no event to tell: look again now and then (the icon
        is touched only when the text changed, about once a minute)."""
        while not self._ticker.wait(self.age_every_s):
            self._push()

    def stop(self) -> None:
        """End ``run()``; callable from any thread, before or during ``run()``."""
        self._stop_requested = True
        self._ticker.set()
        if getattr(self.icon, "_running", False):
            self.icon.stop()
        self._actions.put(None)
