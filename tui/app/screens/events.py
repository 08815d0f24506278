"""The events pane: reconcile events, drift and errors, newest first."""

from __future__ import annotations

from tui.app.screens.base import TableScreen
from tui.data import FleetView
from tui.present.table import Table
from tui.present.trust import events_table


class EventsScreen(TableScreen):
    def __init__(self, cluster: str | None = None, query: str = "") -> None:
        super().__init__(query)
        self.cluster = cluster
        self.TITLE_TEXT = f"Events · {cluster}" if cluster else "Events · all clusters"

    def tables(self, view: FleetView) -> list[tuple[str, str, Table]]:
        return [("events", "Events", events_table(view, self.cluster))]
