"""One workload: its routes, its endpoints (pods), who calls it, and where it calls."""

from __future__ import annotations

from tui.app.screens.base import TableScreen
from tui.data import FleetView
from tui.present.drill import find_workload, named_table
from tui.present.table import Table


class WorkloadScreen(TableScreen):
    def __init__(self, cluster: str, namespace: str, name: str) -> None:
        super().__init__()
        self.cluster, self.namespace, self.workload = cluster, namespace, name
        self.TITLE_TEXT = f"Workload · {cluster}/{namespace}/{name}"

    def tables(self, view: FleetView) -> list[tuple[str, str, Table]]:
        w = find_workload(view, self.cluster, self.namespace, self.workload)
        return [
            ("routes", "Routes (inbound)", named_table("ROUTE", w.routes if w else ())),
            ("endpoints", "Endpoints (inbound latency per pod)", named_table("ENDPOINT", w.endpoints if w else ())),
            ("callers", "Callers (client identity)", named_table("IDENTITY", w.callers if w else ())),
            ("destinations", "Destinations (outbound)", named_table("DESTINATION", w.outbound if w else ())),
        ]

    def info(self, view: FleetView) -> str:
        w = find_workload(view, self.cluster, self.namespace, self.workload)
        if w is None:
            return "✗ no traffic seen for this workload in the latest metrics"
        g = w.inbound
        sr = "-" if g.success_rate is None else f"{g.success_rate * 100:.2f}%"
        return f"inbound: {g.rps:.1f} rps · success {sr} · {g.open_connections:.0f} open connections"
