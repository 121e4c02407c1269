"""Following the cache file: notice a rewrite with one stat, read it off the UI thread.

A mixin of :class:`trayapp.tui.app.QuotaApp`, kept apart so the drawing reads on its own. A
timer compares the file's (inode, mtime, size) with the last read; when it changed, a worker
thread loads it through ``trayapp.cache`` and posts :class:`Loaded`. A bad read keeps the
last good view.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from textual import work
from textual.message import Message
from textual.worker import get_current_worker

from trayapp import cache
from trayapp.tui import model

if TYPE_CHECKING:
    from trayapp.tui.table import QuotaTable

__all__ = ["CacheFollower", "Loaded", "Signature", "signature"]

Signature = tuple[int, int, int] | None  # (inode, mtime_ns, size); None: no file


def signature(path: Path) -> Signature:
    """What changes when the file is rewritten: an atomic replace always changes the inode."""
    try:
        st = os.stat(path)  # noqa: PTH116
    except OSError:
        return None
    return st.st_ino, st.st_mtime_ns, st.st_size


class Loaded(Message):
    """A worker's read of the cache: a snapshot, or the error that kept it from one."""

    def __init__(
        self,
        sig: Signature,
        snap: cache.Snapshot | None,
        error: cache.CacheError | None,
        alive: bool,
    ) -> None:
        super().__init__()
        self.sig, self.snap, self.error, self.alive = sig, snap, error, alive


class CacheFollower:
    """Polls, loads and takes in the cache file for :class:`~trayapp.tui.app.QuotaApp`."""

    path: Path
    snap: cache.Snapshot | None
    alive: bool
    loads: int
    _sig: Signature | bool
    _loading: bool
    _bad_read: str | None
    _tables: dict[str, QuotaTable]

    if TYPE_CHECKING:  # provided by QuotaApp; post_message by Textual's App

        def _projects(self, snap: cache.Snapshot) -> list[str]: ...

        async def _ensure_tab(self, project: str) -> None: ...

        async def _drop_tab(self, project: str) -> None: ...

        def _render(self) -> None: ...

        def _message(self, text: str | None) -> None: ...

        def _say(self, line: str, *, ok: bool) -> None: ...

    def poll(self) -> None:
        """One stat per tick; a read starts only when the file changed and none is running."""
        if self._loading:
            return  # the next tick compares again: a write during a read is not lost
        sig = signature(self.path)
        if sig == self._sig:
            return
        self._loading = True
        self.load(sig)

    @work(thread=True, exclusive=True, group="load")
    def load(self, sig: Signature) -> None:
        """Parse off the UI thread, and say which file was read.

        The file may have been replaced since the poll's stat: a stat here, before and after
        the read, names the copy read when they agree; when they differ the older one is kept,
        so the newer file is read again at the next poll.
        """
        before = signature(self.path)
        try:
            snap, error = cache.load(self.path), None
        except cache.CacheError as exc:
            snap, error = None, exc
        if before == signature(self.path):
            sig = before
        alive = snap is not None and model.pid_alive(snap.warmer.get("pid"))
        if not get_current_worker().is_cancelled:
            self.post_message(Loaded(sig, snap, error, alive))

    async def on_loaded(self, message: Loaded) -> None:
        self._loading = False
        self._sig = message.sig
        if message.error is not None:
            self._bad(message.error)
            return
        snap = message.snap
        assert snap is not None
        projects = self._projects(snap)
        for project in projects:  # timers run during these awaits: they see the old snapshot
            await self._ensure_tab(project)
        for project in [p for p in self._tables if p not in projects]:
            await self._drop_tab(project)
        self.snap, self.alive, self._bad_read = snap, message.alive, None
        self._render()
        self.loads += 1

    def _bad(self, error: cache.CacheError) -> None:
        """No snapshot yet: one message in place of the tables. Else keep the last good view."""
        text = model.clean(error, 300)
        if self.snap is None:
            hint = (
                "Start the warmer with `quota-tray` (the demo: `quota-tray demo`, viewed with "
                "`quota-tray tui --demo`): this view fills in as soon as it writes the cache."
                if error.reason == "missing"
                else "The warmer sets a bad file aside and writes a new one when it starts."
            )
            self._message(f"{text}\n{hint}")
        elif text != self._bad_read:
            self._say(f"{text}; showing the last good copy", ok=False)
        self._bad_read = text

    def refresh_ages(self) -> None:
        """Ages and the writer's liveness move on even when the file does not change."""
        if self.snap is not None and not self._loading:
            self.alive = model.pid_alive(self.snap.warmer.get("pid"))
            self._render()
