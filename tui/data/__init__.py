"""The data layer: turns status and metrics sources into one :class:`FleetView` per refresh."""

from tui.data.collector import FleetCollector, FleetFeed
from tui.data.model import ClusterView, FleetView, MetricsSource

__all__ = ["ClusterView", "FleetCollector", "FleetFeed", "FleetView", "MetricsSource"]
