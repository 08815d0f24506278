"""What every table screen shares: title, info line, filter box, sorting, refresh on new data."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from textual import events
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.css.query import NoMatches
from textual.screen import Screen
from textual.widgets import Footer, Input, Label, Static

from tui.app.widgets import ValueTable
from tui.data import FleetView
from tui.present.table import Table

if TYPE_CHECKING:
    from tui.app.app import FleetApp


class TableScreen(Screen[None]):
    """A screen of one or more titled tables filtered by one ``/`` query."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "filter", "Filter", key_display="/"),
        Binding("escape", "back", "Back"),
        Binding("s", "sort", "Sort"),
        Binding("tab", "app.focus_next", "Next table", show=False),
    ]
    TITLE_TEXT = ""

    def __init__(self, query: str = "") -> None:
        super().__init__()
        self.query_text = query

    # --- to override -------------------------------------------------------------------
    def tables(self, view: FleetView) -> list[tuple[str, str, Table]]:
        """``(widget id, caption, table)`` for each table on this screen."""
        raise NotImplementedError

    def info(self, view: FleetView) -> str:
        return ""

    def open_row(self, table_id: str, key: str) -> None:
        """Enter on a row of table ``table_id``."""

    # --- shared behaviour --------------------------------------------------------------
    @property
    def fleet_app(self) -> FleetApp:
        from tui.app.app import FleetApp

        assert isinstance(self.app, FleetApp)
        return self.app

    def compose(self) -> ComposeResult:
        yield Static(self.TITLE_TEXT, id="title")
        yield Static("", id="info")
        with Vertical(id="tables"):
            for table_id, caption, _ in self.tables(self.fleet_app.view):
                yield Label(caption, classes="caption")
                yield ValueTable(id=table_id)
        yield Input(value=self.query_text, placeholder="filter: words, or column:text such as cluster:east",
                    id="filter", classes="" if self.query_text else "hidden")
        yield Footer()

    def on_mount(self) -> None:
        self.show(self.fleet_app.view)
        self.query(ValueTable).first().focus()

    def on_resize(self, event: events.Resize) -> None:
        self.call_after_refresh(self.fleet_app.check_size)

    def on_screen_resume(self) -> None:
        self.show(self.fleet_app.view)

    def show(self, view: FleetView) -> None:
        try:
            self.query_one("#info", Static).update(self.info(view))
            for table_id, _, table in self.tables(view):
                self.query_one(f"#{table_id}", ValueTable).show(table, self.query_text)
        except NoMatches:
            # Data that arrives while the screen is being popped has nowhere to go.
            return

    def action_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.remove_class("hidden")
        box.focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "filter":
            self.query_text = event.value
            self.show(self.fleet_app.view)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "filter":
            self.query(ValueTable).first().focus()

    def action_back(self) -> None:
        box = self.query_one("#filter", Input)
        if box.has_focus or self.query_text:
            # Esc first clears the filter, like k9s; a second Esc goes back.
            box.value = ""
            self.query_text = ""
            box.add_class("hidden")
            self.query(ValueTable).first().focus()
            self.show(self.fleet_app.view)
            return
        if len(self.app.screen_stack) > 2:
            self.app.pop_screen()

    def action_sort(self) -> None:
        table = self.focused if isinstance(self.focused, ValueTable) else self.query(ValueTable).first()
        table.sort_by_cursor_column()
        self.show(self.fleet_app.view)

    def on_data_table_row_selected(self, event: ValueTable.RowSelected) -> None:
        if event.data_table.id is not None and event.row_key.value is not None:
            self.open_row(event.data_table.id, event.row_key.value)

    def on_data_table_header_selected(self, event: ValueTable.HeaderSelected) -> None:
        table = event.data_table
        if isinstance(table, ValueTable):
            table.move_cursor(column=event.column_index)
            table.sort_by_cursor_column()
            self.show(self.fleet_app.view)
