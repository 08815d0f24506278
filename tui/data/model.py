"""What one refresh produced: the fleet as the screens and ``--once`` see it."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from tui.metrics import ClusterMetrics
from tui.status import ClusterStatus, FleetStatus


class MetricsSource(enum.Enum):
    PROMETHEUS = "prometheus"
    PROXIES = "proxies"
    NONE = "none"


@dataclass(frozen=True, slots=True)
class ClusterView:
    """One cluster: its reconcile status and its last good metrics, with how old they are.

    ``metrics_error`` is set when the latest attempt failed; ``metrics`` then still holds the
    previous good reading (``metrics_age_s`` says how old), so a flapping cluster keeps a row.
    ``metrics`` is None before the first reading (direct scraping needs two scrapes).
    """

    name: str
    status: ClusterStatus | None
    metrics_source: MetricsSource
    metrics: ClusterMetrics | None
    metrics_error: str | None
    metrics_age_s: float | None
    rps_history: tuple[float, ...] = ()
    success_history: tuple[float | None, ...] = ()


@dataclass(frozen=True, slots=True)
class FleetView:
    """The fleet at ``now``; ``status`` is the last good status document, if any."""

    now: datetime
    status_origin: str | None
    status: FleetStatus | None
    status_error: str | None
    status_age_s: float | None
    clusters: tuple[ClusterView, ...]

    def cluster(self, name: str) -> ClusterView | None:
        for c in self.clusters:
            if c.name == name:
                return c
        return None
