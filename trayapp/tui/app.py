"""The terminal view: follows the cache file the warmer keeps replacing, never the network.

A timer compares the file's (inode, mtime, size) with the last read and, when it changed, a
worker thread loads it through ``trayapp.cache``; the UI thread only redraws. A bad read keeps
the last good view. Control commands run in worker threads too.

This module lays the view out and draws it; following the file is in :mod:`trayapp.tui.follow`
and what the keys do in :mod:`trayapp.tui.keys`.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.content import Content
from textual.widgets import Footer, Static, TabbedContent, TabPane

from trayapp import cache
from trayapp.tui import model
from trayapp.tui.filters import FilterBar
from trayapp.tui.follow import CacheFollower, Signature
from trayapp.tui.keys import KeyActions
from trayapp.tui.status import StatusWidget
from trayapp.tui.table import QuotaTable


class QuotaApp(CacheFollower, KeyActions, App[int]):
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
        self._launches = Static("", id="launches", markup=False)  # [[launch]] verdicts
        with Horizontal(id="top"):
            yield Static(f"quota-tray · {_short_path(self.path)}", id="title", markup=False)
            yield self._status
        yield self._filter_bar
        yield self._launches
        yield self._box
        yield self._tabs
        yield Footer()

    def on_mount(self) -> None:
        self._show_sort()
        self.poll()
        self.set_interval(self.poll_s, self.poll, name="cache-poll")
        self.set_interval(self.refresh_s, self.refresh_ages, name="age-refresh")

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
        problem = model.filter_problem(snap, projects, self.filters)
        if problem:  # said, instead of an empty table
            self._message(problem)
            return
        now = time.time()
        said = model.launch_lines(snap, projects, now)  # above the tables; none: not shown
        said += model.request_lines(snap, projects, now)
        self._launches.update("\n".join(said))
        self._launches.set_class(bool(said), "-shown")
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
