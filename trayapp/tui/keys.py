"""The view's keys and clicks: control commands, sorting, filtering, focus, lookups.

A mixin of :class:`trayapp.tui.app.QuotaApp`, kept apart so what a key does reads apart from
how the file is followed and drawn. Control commands run in worker threads: the instance may
be slow to answer, the UI never waits for it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import work
from textual.widgets import DataTable, Input

from trayapp import cache
from trayapp.tui import model, remote
from trayapp.tui.filters import FilterBar
from trayapp.tui.table import QuotaTable

__all__ = ["SORT_LABELS", "KeyActions"]

SORT_LABELS = {
    "cache": "cache order",
    "free": "FREE",
    "metric": "GPU",
    "region": "region",
    "age": "age",
}


class KeyActions:
    """The ``action_*`` methods and table/filter events of :class:`~trayapp.tui.app.QuotaApp`."""

    demo: bool
    snap: cache.Snapshot | None
    reads: cache.ReadStats
    filters: model.Filters
    sort: str
    reverse: bool
    control_answers: list[tuple[bool, str]]
    notices: list[str]
    _last_read: str | None
    _filter_bar: FilterBar

    if TYPE_CHECKING:  # provided by QuotaApp; notify, query_one... by Textual's App

        @property
        def active_table(self) -> QuotaTable | None: ...

        def _render(self) -> None: ...

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
