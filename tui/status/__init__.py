"""Fleet status: the typed document and the sources it is read from."""

from tui.status.document import parse_status, parse_status_text
from tui.status.model import Anchor, ClusterEvent, ClusterState, ClusterStatus, FleetStatus, Rotation
from tui.status.source import JsonDocumentSource, StatusSource

__all__ = [
    "Anchor",
    "ClusterEvent",
    "ClusterState",
    "ClusterStatus",
    "FleetStatus",
    "JsonDocumentSource",
    "Rotation",
    "StatusSource",
    "parse_status",
    "parse_status_text",
]
