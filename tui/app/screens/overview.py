"""The fleet overview: one row per cluster; Enter opens that cluster's workloads."""

from __future__ import annotations

from tui.app.screens.base import TableScreen
from tui.data import FleetView
from tui.present.format import age_text
from tui.present.overview import overview_table
from tui.present.table import Table
from tui.present.trust import rotation_text


class OverviewScreen(TableScreen):
    TITLE_TEXT = "Fleet"

    def tables(self, view: FleetView) -> list[tuple[str, str, Table]]:
        return [("clusters", f"Clusters ({len(view.clusters)})", overview_table(view))]

    def info(self, view: FleetView) -> str:
        parts = [f"status: {view.status_origin or 'none'}"]
        if view.status_error:
            parts.append(f"✗ {view.status_error}"
                         + (f" (showing data {age_text(view.status_age_s)} old)" if view.status else ""))
        parts.append(rotation_text(view))
        return "  ·  ".join(parts)

    def open_row(self, table_id: str, key: str) -> None:
        from tui.app.screens.workloads import WorkloadsScreen

        self.app.push_screen(WorkloadsScreen(cluster=key))
