"""The table widget every screen uses: shows a :class:`~tui.present.table.Table` value."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import DataTable
from textual.widgets.data_table import RowDoesNotExist

from tui.present.table import Level, Table, filter_rows, sort_rows

STYLE = {Level.BAD: "bold red", Level.WARN: "yellow", Level.OK: "green", Level.NONE: ""}


class ValueTable(DataTable[Text]):
    """A DataTable fed whole :class:`Table` values; keeps the cursor on the same row key."""

    def __init__(self, *, id: str) -> None:  # noqa: A002 - Textual's own parameter name
        super().__init__(id=id, cursor_type="row", zebra_stripes=False)
        self.source: Table | None = None
        self.sort_key: str | None = None
        self.descending = False

    def show(self, table: Table, query: str) -> None:
        self.source = table
        shown = sort_rows(filter_rows(table, query), self.sort_key, self.descending)
        keep = self.current_key()
        self.clear(columns=True)
        widths = [len(c.title) + 2 for c in table.columns]
        for row in shown.rows:
            # Widths from the data itself: the table's idle-time auto-sizing lags a full rebuild.
            widths = [max(w, len(c.shown)) for w, c in zip(widths, row.cells, strict=True)]
        for col, width in zip(table.columns, widths, strict=True):
            mark = ""
            if col.key == self.sort_key:
                mark = " ▼" if self.descending else " ▲"
            self.add_column(Text(col.title + mark, justify="right" if col.numeric else "left"),
                            key=col.key, width=width)
        for row in shown.rows:
            self.add_row(*(Text(c.shown, style=STYLE[c.level],
                                justify="right" if col.numeric else "left")
                           for c, col in zip(row.cells, table.columns, strict=True)), key=row.key)
        if keep is not None:
            try:
                self.move_cursor(row=self.get_row_index(keep), animate=False)
            except RowDoesNotExist:
                pass  # the row went away (filtered out or gone from the fleet)

    def current_key(self) -> str | None:
        if self.row_count == 0:
            return None
        try:
            key = self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value
        except Exception:  # noqa: BLE001 - an out-of-range cursor simply means no row
            return None
        return key

    def sort_by_cursor_column(self) -> None:
        """Sort by the column under the cursor; again on the same column flips the order."""
        if self.source is None or not self.source.columns:
            return
        key = self.source.columns[min(self.cursor_column, len(self.source.columns) - 1)].key
        if key == self.sort_key:
            self.descending = not self.descending
        else:
            self.sort_key, self.descending = key, False
