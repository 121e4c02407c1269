"""The terminal view: follows the cache file the warmer keeps replacing, never the network.

A timer compares the file's (inode, mtime, size) with the last read and, when it changed, a
worker thread loads it through ``trayapp.cache``; the UI thread only redraws. A bad read keeps
the last good view. Control commands run in worker threads too.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from textual import work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.content import Content
from textual.message import Message
from textual.widgets import DataTable, Footer, Input, Static, TabbedContent, TabPane
from textual.worker import get_current_worker

from trayapp import cache
from trayapp.tui import model, remote
from trayapp.tui.filters import FilterBar
from trayapp.tui.status import StatusWidget
from trayapp.tui.table import QuotaTable

Signature = tuple[int, int, int] | None  # (inode, mtime_ns, size); None: no file
SORT_LABELS = {
    "cache": "cache order",
    "free": "FREE",
    "metric": "GPU",
    "region": "region",
    "age": "age",
}


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


class QuotaApp(App[int]):
    """Quota table per project, the status widget, filters, sort, and the control keys."""

    CSS_PATH = Path(__file__).with_name("quota.tcss")  # absolute: subclasses live elsewhere
    TITLE = "quota-tray"
    ENABLE_COMMAND_PALETTE = False  # the footer's keys are all there is
    AUTO_FOCUS = None  # the first table takes the focus when it appears: keys work at once
    BINDINGS = [  # noqa: RUF012 - Textual's declaration style
        Binding("r", "rewarm", "Re-warm"),
        Binding("p", "toggle_pause", "Pause/resume"),
        Binding("slash", "focus_filter", "Filter"),
        Binding("s", "next_sort", "Sort"),
        Binding("S", "reverse_sort", "Reverse"),
        Binding("escape", "focus_table", "Table", show=False),
        Binding("q", "quit", "Quit"),
    ]

    def __init__(
        self,
        path: str | os.PathLike[str],
        projects: list[str] | None = None,
        *,
        poll_s: float = 0.1,
        refresh_s: float = 1.0,
        demo: bool = False,
    ) -> None:
        super().__init__()
        self.path = Path(path)
        self.demo = demo  # the keys ask the demo's instance
        self.only = projects  # --project: just these
        self.poll_s, self.refresh_s = poll_s, refresh_s
        self.snap: cache.Snapshot | None = None
        self.alive = False
        self.reads = cache.ReadStats()  # a read: the cursor lands on a check (a lookup)
        self._last_read: str | None = None
        self.filters = model.Filters()
        self.sort, self.reverse = "cache", False
        self.loads = 0  # snapshots shown; tests wait on it
        self.control_answers: list[tuple[bool, str]] = []
        self.notices: list[str] = []  # what was said in a notification, oldest first
        self._sig: Signature | bool = False  # False: never read
        self._loading = False
        self._tables: dict[str, QuotaTable] = {}
        self._panes: dict[str, str] = {}  # project -> its tab's id
        self._tabs_made = 0  # tab ids are never reused
        self._bad_read: str | None = None

    def compose(self) -> ComposeResult:
        # held, not queried: a timer may still draw while the screen is being torn down
        self._status = StatusWidget(id="status")
        self._box = Static("", id="message", markup=False)
        self._tabs = TabbedContent(id="projects")
        self._filter_bar = FilterBar(id="filters")
        with Horizontal(id="top"):
            yield Static(f"quota-tray · {_short_path(self.path)}", id="title", markup=False)
            yield self._status
        yield self._filter_bar
        yield self._box
        yield self._tabs
        yield Footer()

    def on_mount(self) -> None:
        self._show_sort()
        self.poll()
        self.set_interval(self.poll_s, self.poll, name="cache-poll")
        self.set_interval(self.refresh_s, self.refresh_ages, name="age-refresh")

    # -- following the file ----------------------------------------------------------------

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
        """Parse off the UI thread; the stat came first, so a newer file is read again later."""
        try:
            snap, error = cache.load(self.path), None
        except cache.CacheError as exc:
            snap, error = None, exc
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

    # -- drawing ---------------------------------------------------------------------------

    def _projects(self, snap: cache.Snapshot) -> list[str]:
        names = snap.projects
        return [p for p in self.only if p in names] if self.only else names

    def _render(self) -> None:
        """Every table and the status from the current snapshot; cheap enough for the UI thread
        (about 0.4 ms for 38 rows), and only changed cells are redrawn."""
        snap = self.snap
        assert snap is not None
        projects = self._projects(snap)
        if not projects:
            missing = ", ".join(map(repr, self.only or []))
            self._message(
                f"project {missing} is not in {self.path}"
                if self.only
                else "the cache has no project"
            )
            return
        now = time.time()
        for project in projects:
            table = self._tables.get(project)  # None: its tab is being added or dropped
            if table is not None:
                rows = model.rows(snap, project, self.filters, self.sort, self.reverse, now=now)
                table.show_rows(rows)
        status = model.status(snap, projects, alive=self.alive, now=now, reads=self.reads)
        self._status.show(status)
        self._message(None)

    async def _ensure_tab(self, project: str) -> None:
        """One tab per project, added the first time the project shows up in the cache."""
        if project not in self._tables:
            table = QuotaTable(project)
            label = Content(model.clean(project, 40))  # a name from the file: never markup
            self._tabs_made += 1
            pane = TabPane(label, table, id=f"project-{self._tabs_made}")
            await self._tabs.add_pane(pane)
            self._tables[project], self._panes[project] = table, pane.id or ""
            if self.focused is None:
                table.focus()

    async def _drop_tab(self, project: str) -> None:
        """A project gone from the cache (taken out of the config) is not shown as current."""
        del self._tables[project]
        await self._tabs.remove_pane(self._panes.pop(project))
        if self.focused is None and self.active_table is not None:  # the keys keep working
            self.active_table.focus()

    def _message(self, text: str | None) -> None:
        self._box.update(text or "")
        self._box.set_class(text is not None, "-shown")
        self._tabs.set_class(text is not None, "-hidden")

    # -- keys ------------------------------------------------------------------------------

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        """Looking a quota up is a read: a hit when its answer is fresh. A refill passes the
        cursor over other rows on its way back to the same check: that is no new read."""
        table = event.data_table
        key = event.row_key.value
        if not isinstance(table, QuotaTable) or key != table.cursor_key or key == self._last_read:
            return
        row = next((r for r in table.shown if r.key == key), None)
        if row is not None:
            self._last_read = key
            self.reads.record(row.fresh)
            if self.snap is not None:
                self._render()

    def action_rewarm(self) -> None:
        self.control("rewarm")

    def action_toggle_pause(self) -> None:
        self.control("toggle-pause")

    @work(thread=True, group="control")
    def control(self, command: str) -> None:
        ok, line = remote.ask(command, demo=self.demo)
        self.call_from_thread(self._answered, ok, model.clean(line, 200))

    def _answered(self, ok: bool, line: str) -> None:
        self.control_answers.append((ok, line))
        self._say(line, ok=ok)

    def _say(self, line: str, *, ok: bool) -> None:
        self.notices.append(line)
        # outside text (a path, the instance's answer): as written, or a stray tag ends the app
        self.notify(line, severity="information" if ok else "warning", markup=False)

    def action_focus_filter(self) -> None:
        self.query_one("#metric-filter", Input).focus()

    def action_focus_table(self) -> None:
        table = self.active_table
        if table is not None:
            table.focus()

    def action_next_sort(self) -> None:
        self._sort_by(model.SORTS[(model.SORTS.index(self.sort) + 1) % len(model.SORTS)])

    def action_reverse_sort(self) -> None:
        self.reverse = not self.reverse
        self._resort()

    def on_data_table_header_selected(self, event: DataTable.HeaderSelected) -> None:
        key = str(event.column_key.value)
        if key in model.SORTS:
            if key == self.sort:
                self.action_reverse_sort()
            else:
                self._sort_by(key)

    def _sort_by(self, key: str) -> None:
        self.sort, self.reverse = key, False
        self._resort()

    def _resort(self) -> None:
        self._show_sort()
        if self.snap is not None:
            self._render()

    def _show_sort(self) -> None:
        arrow = " (reversed)" if self.reverse else ""
        self._filter_bar.show_sort(f"sort: {SORT_LABELS[self.sort]}{arrow}")

    def on_filter_bar_changed(self, event: FilterBar.Changed) -> None:
        self.filters = event.filters
        if self.snap is not None:
            self._render()

    @property
    def active_table(self) -> QuotaTable | None:
        pane = self._tabs.active_pane
        return pane.query_one(QuotaTable) if pane is not None else None


def _short_path(path: Path) -> str:
    """``~/.cache/quota-tray/quota-cache.json``: the home folder says less than its name."""
    try:
        return str(Path("~") / path.relative_to(Path.home()))
    except (ValueError, RuntimeError):  # elsewhere, or no home
        return str(path)
