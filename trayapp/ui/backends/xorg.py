"""pystray's xorg icon (python-xlib only), made to work in real trays.

As pystray ships it the icon gets no clicks (its window does not select ``ButtonPressMask``),
can hang two threads on one X connection, never appears when the tray starts after it, is
re-docked on every image change and is stretched to the slot. This backend has no menu and no
transparency: images are flattened onto a background colour.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)


def xorg_icon_class(base: type, background: tuple[int, int, int]) -> type:
    """pystray's xorg ``Icon`` (``base``) with the fixes below; ``background`` is the colour
    the images were flattened onto."""
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
