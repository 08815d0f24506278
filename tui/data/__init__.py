"""The data layer: turns status and metrics sources into one :class:`FleetView` per refresh."""

from tui.data.collector import FleetCollector, FleetFeed
from tui.data.model import ClusterDetail, ClusterView, FleetView, MetricsSource

__all__ = ["ClusterDetail", "ClusterView", "FleetCollector", "FleetFeed", "FleetView", "MetricsSource"]
