"""Workload-level tables: workloads of one or all clusters, outbound edges, one workload (pure).

They are built from :class:`~tui.data.ClusterDetail` values, which the drill-down screens fetch
for the clusters they show.  The cluster is an ordinary column in every table here, so
``/cluster:east`` filters and the whole fleet can be searched at once.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from tui.data import ClusterDetail
from tui.metrics import GoldenSignals, WorkloadMetrics
from tui.present.format import ms_cell, mtls_cell, rps_cell, success_cell
from tui.present.table import Cell, Column, Row, Table

GOLDEN_COLUMNS = (
    Column("success", "SUCCESS", numeric=True),
    Column("rps", "RPS", numeric=True),
    Column("p50", "P50", numeric=True),
    Column("p95", "P95", numeric=True),
    Column("p99", "P99", numeric=True),
    Column("mtls", "MTLS", numeric=True),
)


def golden_cells(g: GoldenSignals) -> tuple[Cell, ...]:
    return (success_cell(g.success_rate), rps_cell(g.rps), ms_cell(g.p50_ms), ms_cell(g.p95_ms),
            ms_cell(g.p99_ms), mtls_cell(g.mtls))


def workload_key(cluster: str, namespace: str, name: str) -> str:
    return f"{cluster}/{namespace}/{name}"


def split_workload_key(key: str) -> tuple[str, str, str]:
    cluster, namespace, name = key.split("/", 2)
    return cluster, namespace, name


def _workloads(details: Sequence[ClusterDetail]) -> Iterable[tuple[str, WorkloadMetrics]]:
    for d in details:
        if d.metrics is not None:
            for w in d.metrics.workloads:
                yield d.cluster, w


_WHO = (Column("cluster", "CLUSTER"), Column("ns", "NAMESPACE"), Column("workload", "WORKLOAD"))


def inbound_table(details: Sequence[ClusterDetail]) -> Table:
    """Workloads with their inbound golden signals, for each cluster in ``details``."""
    return Table(_WHO + GOLDEN_COLUMNS, tuple(
        Row(workload_key(cn, w.namespace, w.name),
            (Cell(cn, cn), Cell(w.namespace, w.namespace), Cell(w.name, w.name), *golden_cells(w.inbound)))
        for cn, w in _workloads(details)
    ))


def outbound_table(details: Sequence[ClusterDetail]) -> Table:
    """Each workload's outbound traffic per destination."""
    return Table(_WHO + (Column("dst", "DESTINATION"),) + GOLDEN_COLUMNS, tuple(
        Row(workload_key(cn, w.namespace, w.name) + "→" + dst,
            (Cell(cn, cn), Cell(w.namespace, w.namespace), Cell(w.name, w.name), Cell(dst, dst),
             *golden_cells(g)))
        for cn, w in _workloads(details)
        for dst, g in w.outbound
    ))


def named_table(title: str, items: Iterable[tuple[str, GoldenSignals]]) -> Table:
    """One workload's routes, endpoints, callers or destinations."""
    key = title.lower()
    return Table((Column(key, title),) + GOLDEN_COLUMNS,
                 tuple(Row(n, (Cell(n, n), *golden_cells(g))) for n, g in items))


def find_workload(detail: ClusterDetail | None, namespace: str, name: str) -> WorkloadMetrics | None:
    return detail.metrics.workload(namespace, name) if detail and detail.metrics else None
