"""One project's quota table: rows change in place, so a reload never blanks or jumps."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import DataTable

from trayapp.tui.model import COLUMNS, RIGHT_ALIGNED, Row


class QuotaTable(DataTable):
    """A DataTable fed whole row lists; it works out the smallest change that shows them."""

    def __init__(self, project: str, **kwargs: object) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)  # type: ignore[arg-type]
        self.project = project
        self.shown: list[Row] = []
        self.rebuilds = 0  # full redraws (the row set or order changed); tests read it

    def on_mount(self) -> None:
        for key, label in COLUMNS:
            justify = "right" if key in RIGHT_ALIGNED else "left"
            self.add_column(Text(label, justify=justify), key=key)

    def show_rows(self, rows: list[Row]) -> None:
        """Same rows in the same order: only changed cells are written. Otherwise the table is
        refilled in one go (no frame in between) with the cursor kept on its check."""
        if [r.key for r in rows] == [r.key for r in self.shown]:
            for old, new in zip(self.shown, rows, strict=True):
                for (column, _), before, after in zip(COLUMNS, old.cells, new.cells, strict=True):
                    if before != after:
                        self.update_cell(new.key, column, _cell(column, after), update_width=True)
        else:
            self._refill(rows)
        self.shown = rows

    def _refill(self, rows: list[Row]) -> None:
        current = (
            self.shown[self.cursor_row].key if 0 <= self.cursor_row < len(self.shown) else None
        )
        scroll = self.scroll_y
        self.clear()
        for row in rows:
            self.add_row(
                *(_cell(c, v) for (c, _), v in zip(COLUMNS, row.cells, strict=True)), key=row.key
            )
        keys = [r.key for r in rows]
        if current in keys:
            self.move_cursor(row=keys.index(current), scroll=False)
        self.scroll_y = scroll
        self.rebuilds += 1

    @property
    def cursor_key(self) -> str | None:
        """The check under the cursor (``region/metric``)."""
        return self.shown[self.cursor_row].key if 0 <= self.cursor_row < len(self.shown) else None


def _cell(column: str, value: str) -> Text:
    """Plain Text: cache text is never read as markup."""
    return Text(value, justify="right" if column in RIGHT_ALIGNED else "left", no_wrap=True)
