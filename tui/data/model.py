"""What one refresh produced: the fleet as the screens and ``--once`` see it."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from tui.metrics import ClusterMetrics, GoldenSignals
from tui.status import ClusterStatus, FleetStatus


class MetricsSource(enum.Enum):
    PROMETHEUS = "prometheus"
    PROXIES = "proxies"
    NONE = "none"


@dataclass(frozen=True, slots=True)
class ClusterView:
    """One cluster's overview row: its reconcile status and cluster-wide inbound golden signals.

    ``metrics_error`` is set when the latest attempt failed; ``metrics`` then still holds the
    previous good reading (``metrics_age_s`` says how old), so a flapping cluster keeps a row.
    ``metrics`` is None before the first reading (direct scraping needs two scrapes).  Per
    workload figures are not here: see :class:`ClusterDetail`.
    """

    name: str
    status: ClusterStatus | None
    metrics_source: MetricsSource
    metrics: GoldenSignals | None
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


@dataclass(frozen=True, slots=True)
class ClusterDetail:
    """One cluster's workloads, fetched only while a drill-down screen shows them.

    ``workload`` names the ``(namespace, deployment)`` whose routes, endpoints and callers are
    filled in; without it only workloads and their destinations are.  ``metrics`` keeps the
    last good reading when ``error`` is set, like :class:`ClusterView`; None with no error means
    the first reading is still being collected.
    """

    cluster: str
    workload: tuple[str, str] | None
    metrics_source: MetricsSource
    metrics: ClusterMetrics | None
    error: str | None
    age_s: float | None
