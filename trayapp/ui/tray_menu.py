"""The tray's menu: its items, what each one does, and the worker that runs them.

A mixin of :class:`trayapp.ui.tray.TrayApp`, kept apart so the icon's lifecycle and what it
shows read on their own. Menu callbacks run on the tray thread, so anything slow (controller
calls, stats, opening files) is handed to a worker thread or a short-lived thread here.
"""

from __future__ import annotations

import logging
import os
import queue
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from trayapp.ui.display import Display, DisplayModel, QuotaLine
    from trayapp.ui.notify import Notifier

__all__ = ["Controller", "TrayMenu", "open_in_desktop"]

log = logging.getLogger("trayapp.ui.tray")  # log lines name the tray, not its module


class Controller(Protocol):
    """What the tray asks of the warmer."""

    @property
    def paused(self) -> bool: ...

    def force_rewarm(self) -> None: ...

    def pause(self) -> None: ...

    def resume(self) -> None: ...


def open_in_desktop(path: Path | str) -> None:
    """Open a file, folder or web page with the desktop's handler; blocks, so call it off
    the tray."""
    if sys.platform == "win32":
        os.startfile(path)  # type: ignore[attr-defined]  # noqa: S606
        return
    command = ["open", str(path)] if sys.platform == "darwin" else ["xdg-open", str(path)]
    try:
        proc = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
    except OSError as exc:
        log.warning("cannot open %s: %s", path, exc.strerror or exc)
        return
    try:
        if proc.wait(timeout=60) != 0:
            log.warning("%s could not open %s (exit status %d)", command[0], path, proc.returncode)
    except subprocess.TimeoutExpired:
        pass  # the handler keeps running on its own


def ask_label(line: QuotaLine) -> str:
    """``H100 (may be raised)…``: the quota, and whether it may be raised, before asking."""
    name = line.text.split(" · ")[0]
    return f"{name} ({line.eligibility})…" if line.eligibility else f"{name}…"


class TrayMenu:
    """The menu half of the tray icon; :class:`~trayapp.ui.tray.TrayApp` sets up what it reads."""

    controller: Controller
    notifier: Notifier | None
    on_quit: Callable[[], None] | None
    log_path: Path | None
    cache_dir: Path | None
    show_stats: Callable[[], None] | None
    model: DisplayModel
    copied: list[str]
    _copier: Callable[[str], None] | None
    _opener: Callable[[Path | str], None]
    _state_lock: threading.Lock
    _worker_lock: threading.Lock
    _worker: threading.Thread | None
    _actions: queue.SimpleQueue[Callable[[], None] | None]

    if TYPE_CHECKING:  # provided by TrayApp

        @property
        def display(self) -> Display: ...

        def stop(self) -> None: ...

        def _push(self) -> None: ...

    def _menu(self, pystray: ModuleType) -> Any:
        item, menu = pystray.MenuItem, pystray.Menu
        return menu(
            item("Rewarm now", self._rewarm_now, default=True),
            item(lambda _: self.display.text, None, enabled=False),
            item("Quotas", menu(lambda: self._quota_items(pystray))),
            item("Requests", menu(lambda: self._request_items(pystray))),
            menu.SEPARATOR,
            item(lambda _: "Resume" if self.model.paused else "Pause", self._pause_or_resume),
            item(
                "Notifications",
                self._toggle_notifications,
                checked=lambda _: bool(self.notifier and self.notifier.enabled),
                visible=self.notifier is not None,
            ),
            menu.SEPARATOR,
            item("Show stats", self._show_stats, visible=self.show_stats is not None),
            item("Open log", self._open_log, enabled=self.log_path is not None),
            item("Open cache folder", self._open_cache, enabled=self.cache_dir is not None),
            menu.SEPARATOR,
            item("Quit", self._quit),
        )

    def _quota_items(self, pystray: ModuleType) -> list[Any]:
        """One line per GPU type (then C3) with its best regions; a click copies the best
        region's name (``us-west1``), as ``--region`` and ``gcloud ... --region`` take it."""
        item = pystray.MenuItem
        lines = tuple(line for line in self.display.quotas if not line.request)
        if not lines:
            return [item("No answers yet", None, enabled=False)]
        items = [
            item(
                line.text,
                self._copy_action(line),
                enabled=line.region is not None and self._copier is not None,
            )
            for line in lines
        ]
        asks = [line for line in lines if line.url]
        more = [
            item(
                "Ask for more quota",
                pystray.Menu(*(item(ask_label(line), self._ask_action(line)) for line in asks)),
            )
        ]
        if self._copier is None:
            return [*items, pystray.Menu.SEPARATOR, *more] if asks else items
        hint = item("Click a line to copy its best region", None, enabled=False)
        return [*items, pystray.Menu.SEPARATOR, hint, *(more if asks else [])]

    def _request_items(self, pystray: ModuleType) -> list[Any]:
        """One line per quota increase request followed: its quota, state and age."""
        item = pystray.MenuItem
        lines = [line for line in self.display.quotas if line.request]
        if not lines:
            return [item("No quota increase requests", None, enabled=False)]
        return [item(line.text, None, enabled=False) for line in lines]

    def _ask_action(self, line: QuotaLine) -> Callable[[], None]:
        """Open the console's quotas page for the line's quota and best region."""

        def ask() -> None:
            if line.url:
                self._open(line.url)

        return ask

    def _copy_action(self, line: QuotaLine) -> Callable[[], None]:
        def copy() -> None:
            if line.region is None or self._copier is None:
                return
            try:
                self._copier(line.region)
            except Exception:
                log.exception("cannot copy %s to the clipboard", line.region)
                return
            self.copied.append(line.region)

        return copy

    def _rewarm_now(self) -> None:
        self._in_background(self.controller.force_rewarm)

    def _pause_or_resume(self) -> None:
        if self.model.paused:
            self._in_background(self.controller.resume)
        else:
            self._in_background(self.controller.pause)

    def _toggle_notifications(self) -> None:
        if self.notifier is not None:
            self.notifier.set_enabled(not self.notifier.enabled)

    def _show_stats(self) -> None:
        if self.show_stats is not None:
            self._in_background(self.show_stats)

    def _open_log(self) -> None:
        if self.log_path is not None:
            self._open(self.log_path)

    def _open_cache(self) -> None:
        if self.cache_dir is not None:
            self._open(self.cache_dir)

    def _quit(self) -> None:
        try:
            if self.on_quit is not None:
                self.on_quit()
        except Exception:
            log.exception("quit handler failed")
        finally:
            self.stop()

    def _open(self, path: Path | str) -> None:
        def target() -> None:
            try:
                self._opener(path)
            except Exception as exc:
                log.warning("cannot open %s: %s", path, exc)

        threading.Thread(target=target, name="tray-open", daemon=True).start()

    # -- controller calls, off the tray thread

    def _in_background(self, action: Callable[[], None]) -> None:
        with self._worker_lock:
            if self._worker is None or not self._worker.is_alive():
                self._worker = threading.Thread(target=self._work, name="tray-actions", daemon=True)
                self._worker.start()
        self._actions.put(action)

    def _work(self) -> None:
        while True:
            action = self._actions.get()
            if action is None:
                return
            try:
                action()
            except Exception:
                log.exception("tray action %s failed", getattr(action, "__name__", action))
            with self._state_lock:
                self.model.set_paused(bool(getattr(self.controller, "paused", False)))
            self._push()
