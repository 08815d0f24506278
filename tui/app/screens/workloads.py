"""Workloads of one cluster (or of all): inbound golden signals, and outbound per destination."""

from __future__ import annotations

import asyncio

from tui.app.screens.detail import DetailScreen
from tui.data import ClusterDetail, FleetView
from tui.present.drill import inbound_table, outbound_table, split_workload_key
from tui.present.table import Table


class WorkloadsScreen(DetailScreen):
    def __init__(self, cluster: str | None = None, query: str = "") -> None:
        super().__init__(query)
        self.cluster = cluster
        self.TITLE_TEXT = f"Workloads · {cluster}" if cluster else "Workloads · all clusters"

    async def fetch(self) -> tuple[ClusterDetail, ...]:
        feed = self.fleet_app.feed
        if self.cluster is not None:
            return (await feed.detail(self.cluster),)
        # Every cluster's workloads: costly on a large fleet, so only while this screen is up.
        return tuple(await asyncio.gather(*(feed.detail(c.name) for c in self.fleet_app.view.clusters)))

    def tables(self, view: FleetView) -> list[tuple[str, str, Table]]:
        return [
            ("inbound", "Inbound (served by each workload)", inbound_table(self.details)),
            ("outbound", "Outbound (per destination)", outbound_table(self.details)),
        ]

    def info(self, view: FleetView) -> str:
        return self.detail_problems() or \
            "Enter: open a workload · s: sort by the cursor column · /: filter (cluster:NAME ns:NAME)"

    def open_row(self, table_id: str, key: str) -> None:
        from tui.app.screens.workload import WorkloadScreen

        cluster, namespace, name = split_workload_key(key.split("→", 1)[0])
        self.app.push_screen(WorkloadScreen(cluster, namespace, name))
