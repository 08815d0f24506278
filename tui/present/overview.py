"""The fleet overview: one row per cluster, as a table and as JSON records (pure)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tui.data import ClusterView, FleetView, MetricsSource
from tui.present.format import (
    DASH,
    age_text,
    days_cell,
    days_until,
    ms_cell,
    mtls_cell,
    rps_cell,
    short_revision,
    sparkline,
    success_cell,
)
from tui.present.table import Cell, Column, Level, Row, Table
from tui.status import ClusterState

COLUMNS = (
    Column("cluster", "CLUSTER"),
    Column("reach", "REACH"),
    Column("state", "STATE"),
    Column("revision", "REVISION"),
    Column("cp", "CP"),
    Column("pods", "MESHED", numeric=True),
    Column("mtls", "MTLS", numeric=True),
    Column("success", "SUCCESS", numeric=True),
    Column("rps", "RPS", numeric=True),
    Column("p50", "P50", numeric=True),
    Column("p95", "P95", numeric=True),
    Column("p99", "P99", numeric=True),
    Column("anchor", "ANCHOR", numeric=True),
    Column("issuer", "ISSUER", numeric=True),
    Column("rpsline", "RPS~"),
    Column("srline", "SUCCESS~"),
    Column("metrics", "METRICS"),
)

_BAD_STATES = {ClusterState.FAILED, ClusterState.UNREACHABLE}


ISSUER_WARN_DAYS = 9.0  # past the automatic renewal point of a 30-day issuer
ISSUER_BAD_DAYS = 3.0


def anchor_days(view: FleetView) -> float | None:
    """Days until the first anchor of the bundle expires (the one that matters)."""
    if view.status is None or not view.status.anchors:
        return None
    return min(days_until(a.not_after, view.now) or 0.0 for a in view.status.anchors)


def metrics_cell(c: ClusterView) -> Cell:
    if c.metrics_error:
        stale = f" (data {age_text(c.metrics_age_s)} old)" if c.metrics is not None else ""
        return Cell(c.metrics_error + stale, c.metrics_error, Level.BAD)
    if c.metrics_source is MetricsSource.NONE:
        return Cell("no source", "no source", Level.WARN)
    if c.metrics is None:
        return Cell("collecting", "collecting")
    return Cell(f"{c.metrics_source.value} {age_text(c.metrics_age_s)}", c.metrics_source.value, Level.OK)


def cluster_row(c: ClusterView, view: FleetView) -> Row:
    s, g = c.status, c.metrics
    if s is None:
        status_cells = [Cell(DASH)] * 5
    else:
        level = Level.OK if s.state.healthy else Level.BAD if s.state in _BAD_STATES else Level.WARN
        rev = short_revision(s.applied_revision) if s.in_sync else \
            f"{short_revision(s.applied_revision) or DASH}→{short_revision(s.target_revision)}"
        meshed_level = Level.OK if s.meshed_pods >= s.total_pods else Level.WARN
        status_cells = [
            Cell("yes", 1.0, Level.OK) if s.reachable else Cell("no", 0.0, Level.BAD),
            Cell(s.state.value, s.state.value, level),
            Cell(rev, s.applied_revision, Level.OK if s.in_sync else Level.WARN),
            Cell("ready", 1.0, Level.OK) if s.control_plane_ready else Cell("down", 0.0, Level.BAD),
            Cell(f"{s.meshed_pods}/{s.total_pods}", s.meshed_pods / s.total_pods if s.total_pods else None,
                 meshed_level),
        ]
    issuer = days_until(s.issuer_not_after, view.now) if s else None
    return Row(c.name, (
        Cell(c.name, c.name),
        *status_cells,
        mtls_cell(g.mtls if g else None),
        success_cell(g.success_rate if g else None),
        rps_cell(g.rps if g else None),
        ms_cell(g.p50_ms if g else None),
        ms_cell(g.p95_ms if g else None),
        ms_cell(g.p99_ms if g else None),
        days_cell(anchor_days(view)),
        # Issuers live 30 days and are renewed at two thirds of their life: only a late one is news.
        days_cell(issuer, warn_below=ISSUER_WARN_DAYS, bad_below=ISSUER_BAD_DAYS),
        Cell(sparkline(c.rps_history)),
        Cell(sparkline(c.success_history)),
        metrics_cell(c),
    ))


def overview_table(view: FleetView) -> Table:
    return Table(COLUMNS, tuple(cluster_row(c, view) for c in view.clusters))


def _iso(t: datetime | None) -> str | None:
    return None if t is None else t.isoformat()


def overview_records(view: FleetView) -> dict[str, Any]:
    """The overview as a JSON-ready document (numbers unformatted: ratios in 0..1, ms, days)."""
    table = overview_table(view)
    clusters = []
    for c, row in zip(view.clusters, table.rows, strict=True):
        s, g = c.status, c.metrics
        problems = [f"{col.key}: {cell.text}" for col, cell in zip(table.columns, row.cells, strict=True)
                    if cell.level in (Level.BAD, Level.WARN)]
        clusters.append({
            "name": c.name,
            "reachable": s.reachable if s else None,
            "state": s.state.value if s else None,
            "targetRevision": s.target_revision if s else None,
            "appliedRevision": s.applied_revision if s else None,
            "controlPlaneReady": s.control_plane_ready if s else None,
            "meshedPods": s.meshed_pods if s else None,
            "totalPods": s.total_pods if s else None,
            "mtls": g.mtls if g else None,
            "successRate": g.success_rate if g else None,
            "rps": g.rps if g else None,
            "latencyMs": {"p50": g.p50_ms if g else None, "p95": g.p95_ms if g else None,
                          "p99": g.p99_ms if g else None},
            "anchorExpiresInDays": anchor_days(view),
            "issuerExpiresInDays": days_until(s.issuer_not_after, view.now) if s else None,
            "metricsSource": c.metrics_source.value,
            "metricsError": c.metrics_error,
            "metricsAgeSeconds": c.metrics_age_s,
            "problems": problems,
        })
    return {
        "generatedAt": view.now.isoformat(),
        "statusSource": view.status_origin,
        "statusGeneratedAt": _iso(view.status.generated_at) if view.status else None,
        "statusError": view.status_error,
        "rotationPhase": view.status.rotation.phase if view.status else None,
        "clusters": clusters,
    }
