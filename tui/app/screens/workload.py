"""One workload: its routes, its endpoints (pods), who calls it, and where it calls."""

from __future__ import annotations

from tui.app.screens.detail import DetailScreen
from tui.data import ClusterDetail, FleetView
from tui.metrics import WorkloadMetrics
from tui.present.drill import find_workload, named_table
from tui.present.table import Table


class WorkloadScreen(DetailScreen):
    def __init__(self, cluster: str, namespace: str, name: str) -> None:
        super().__init__()
        self.cluster, self.namespace, self.workload = cluster, namespace, name
        self.TITLE_TEXT = f"Workload · {cluster}/{namespace}/{name}"

    async def fetch(self) -> tuple[ClusterDetail, ...]:
        return (await self.fleet_app.feed.detail(self.cluster, (self.namespace, self.workload)),)

    def _found(self) -> WorkloadMetrics | None:
        return find_workload(self.details[0] if self.details else None, self.namespace, self.workload)

    def tables(self, view: FleetView) -> list[tuple[str, str, Table]]:
        w = self._found()
        return [
            ("routes", "Routes (inbound)", named_table("ROUTE", w.routes if w else ())),
            ("endpoints", "Endpoints (inbound latency per pod)", named_table("ENDPOINT", w.endpoints if w else ())),
            ("callers", "Callers (client identity)", named_table("IDENTITY", w.callers if w else ())),
            ("destinations", "Destinations (outbound)", named_table("DESTINATION", w.outbound if w else ())),
        ]

    def info(self, view: FleetView) -> str:
        problem = self.detail_problems()
        w = self._found()
        if problem is not None and w is None:
            return problem
        if w is None:
            return "✗ no traffic seen for this workload in the latest metrics"
        g = w.inbound
        sr = "-" if g.success_rate is None else f"{g.success_rate * 100:.2f}%"
        text = f"inbound: {g.rps:.1f} rps · success {sr} · {g.open_connections:.0f} open connections"
        return f"{problem}  ·  {text}" if problem else text
