"""The trust view: anchors, each cluster's issuer and its expiry, the rotation phase."""

from __future__ import annotations

from tui.app.screens.base import TableScreen
from tui.data import FleetView
from tui.present.table import Table
from tui.present.trust import anchors_table, issuers_table, rotation_text


class TrustScreen(TableScreen):
    TITLE_TEXT = "Trust"

    def tables(self, view: FleetView) -> list[tuple[str, str, Table]]:
        return [("anchors", "Trust anchors (bundle)", anchors_table(view)),
                ("issuers", "Cluster issuers", issuers_table(view))]

    def info(self, view: FleetView) -> str:
        return rotation_text(view)
