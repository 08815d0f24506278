"""Trust view and events tables (pure)."""

from __future__ import annotations

from tui.data import FleetView
from tui.present.format import DASH, days_cell, days_until
from tui.present.table import Cell, Column, Level, Row, Table


def anchors_table(view: FleetView) -> Table:
    anchors = view.status.anchors if view.status else ()
    return Table(
        (Column("fingerprint", "ANCHOR FINGERPRINT"), Column("notafter", "NOT AFTER"),
         Column("expires", "EXPIRES IN", numeric=True)),
        tuple(Row(a.fingerprint, (Cell(a.fingerprint, a.fingerprint),
                                  Cell(a.not_after.isoformat(), a.not_after.isoformat()),
                                  days_cell(days_until(a.not_after, view.now))))
              for a in anchors),
    )


def issuers_table(view: FleetView) -> Table:
    rows = []
    for c in view.clusters:
        t = c.status.issuer_not_after if c.status else None
        rows.append(Row(c.name, (Cell(c.name, c.name),
                                 Cell(t.isoformat() if t else DASH, t.isoformat() if t else None),
                                 days_cell(days_until(t, view.now)))))
    return Table((Column("cluster", "CLUSTER"), Column("notafter", "ISSUER NOT AFTER"),
                  Column("expires", "EXPIRES IN", numeric=True)), tuple(rows))


def rotation_text(view: FleetView) -> str:
    phase = view.status.rotation.phase if view.status else None
    return f"Rotation in progress: {phase}" if phase else "No rotation in progress"


def events_table(view: FleetView, cluster: str | None = None) -> Table:
    """Reconcile events of one or all clusters, newest first."""
    found = [(c.name, e) for c in view.clusters if c.status and (cluster is None or c.name == cluster)
             for e in c.status.events]
    found.sort(key=lambda ce: ce[1].time, reverse=True)
    return Table(
        (Column("time", "TIME"), Column("cluster", "CLUSTER"), Column("type", "TYPE"),
         Column("reason", "REASON"), Column("message", "MESSAGE")),
        tuple(Row(f"{cn}/{i}", (
            Cell(e.time.isoformat(), e.time.isoformat()), Cell(cn, cn),
            Cell(e.type, e.type, Level.WARN if e.type.lower() in ("warning", "error") else Level.NONE),
            Cell(e.reason, e.reason), Cell(e.message, e.message)))
            for i, (cn, e) in enumerate(found)),
    )
