"""The filter bar: GPU types and a minimum FREE, with the meaning of `show --metric/--min-free`."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.message import Message
from textual.widgets import Input, Label

from trayapp.tui.model import Filters


class FilterBar(Horizontal):
    """Posts ``FilterBar.Changed`` with valid filters; a bad min free is marked, not applied."""

    class Changed(Message):
        def __init__(self, filters: Filters) -> None:
            super().__init__()
            self.filters = filters

    def compose(self) -> ComposeResult:
        self._metrics = Input(placeholder="e.g. H100 T4", id="metric-filter")
        self._min_free = Input(placeholder="e.g. 8", id="min-free", restrict=r"[0-9.]*")
        self._sort = Label("", id="sort-label")
        yield Label("GPU type")
        yield self._metrics
        yield Label("min FREE")
        yield self._min_free
        yield self._sort

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        metrics, min_free = self._metrics.value, self._min_free
        try:
            filters = Filters.parse(metrics, min_free.value)
        except ValueError:
            min_free.add_class("-invalid")
            return
        min_free.remove_class("-invalid")
        self.post_message(self.Changed(filters))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.app.action_focus_table()  # type: ignore[attr-defined]

    def show_sort(self, text: str) -> None:
        self._sort.update(text)
