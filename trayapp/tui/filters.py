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
        yield Label("GPU type")
        yield Input(placeholder="e.g. H100 T4", id="metric-filter")
        yield Label("min FREE")
        yield Input(placeholder="e.g. 8", id="min-free", restrict=r"[0-9.]*")
        yield Label("", id="sort-label")

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        metrics = self.query_one("#metric-filter", Input).value
        min_free = self.query_one("#min-free", Input)
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
        self.query_one("#sort-label", Label).update(text)
