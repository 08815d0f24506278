"""Workloads of one cluster (or of all): inbound golden signals, and outbound per destination."""

from __future__ import annotations

from tui.app.screens.base import TableScreen
from tui.data import FleetView
from tui.present.drill import inbound_table, outbound_table, split_workload_key
from tui.present.table import Table


class WorkloadsScreen(TableScreen):
    def __init__(self, cluster: str | None = None, query: str = "") -> None:
        super().__init__(query)
        self.cluster = cluster
        self.TITLE_TEXT = f"Workloads · {cluster}" if cluster else "Workloads · all clusters"

    def tables(self, view: FleetView) -> list[tuple[str, str, Table]]:
        return [
            ("inbound", "Inbound (served by each workload)", inbound_table(view, self.cluster)),
            ("outbound", "Outbound (per destination)", outbound_table(view, self.cluster)),
        ]

    def info(self, view: FleetView) -> str:
        c = view.cluster(self.cluster) if self.cluster else None
        if c is not None and c.metrics_error:
            return f"✗ {c.metrics_error}"
        return "Enter: open a workload · s: sort by the cursor column · /: filter (cluster:NAME ns:NAME)"

    def open_row(self, table_id: str, key: str) -> None:
        from tui.app.screens.workload import WorkloadScreen

        cluster, namespace, name = split_workload_key(key.split("→", 1)[0])
        self.app.push_screen(WorkloadScreen(cluster, namespace, name))
