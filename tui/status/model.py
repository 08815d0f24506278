"""The fleet status document as typed values.

The reconciler publishes this document (a JSON file or an HTTP URL); the dashboard only ever
reads it.  Field names in JSON are camelCase; here they are snake_case.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime


class ClusterState(enum.Enum):
    """Where the reconciler stands with one cluster."""

    PENDING = "Pending"
    APPLYING = "Applying"
    PROGRESSING = "Progressing"
    READY = "Ready"
    DEGRADED = "Degraded"
    FAILED = "Failed"
    UNREACHABLE = "Unreachable"

    @property
    def healthy(self) -> bool:
        """States that need no attention (converging counts as fine, failing does not)."""
        return self in (ClusterState.READY, ClusterState.PENDING, ClusterState.APPLYING,
                        ClusterState.PROGRESSING)


@dataclass(frozen=True, slots=True)
class Anchor:
    """One trust anchor in the fleet's bundle (public facts only)."""

    fingerprint: str
    not_after: datetime


@dataclass(frozen=True, slots=True)
class Rotation:
    """The trust-anchor rotation in progress, if any (``phase`` is None when idle)."""

    phase: str | None


@dataclass(frozen=True, slots=True)
class ClusterEvent:
    """A reconcile event, drift report or error the reconciler recorded for a cluster."""

    time: datetime
    type: str
    reason: str
    message: str


@dataclass(frozen=True, slots=True)
class ClusterStatus:
    """Everything the reconciler knows about one cluster."""

    name: str
    reachable: bool
    state: ClusterState
    target_revision: str
    applied_revision: str
    last_sync: datetime | None
    message: str
    control_plane_ready: bool
    meshed_pods: int
    total_pods: int
    issuer_not_after: datetime | None
    prometheus_url: str | None
    proxy_metrics_urls: tuple[str, ...]
    events: tuple[ClusterEvent, ...]

    @property
    def in_sync(self) -> bool:
        """The applied revision is the one Git asks for."""
        return self.target_revision == self.applied_revision


@dataclass(frozen=True, slots=True)
class FleetStatus:
    """The whole status document."""

    generated_at: datetime
    anchors: tuple[Anchor, ...]
    rotation: Rotation
    clusters: tuple[ClusterStatus, ...]

    def cluster(self, name: str) -> ClusterStatus | None:
        for c in self.clusters:
            if c.name == name:
                return c
        return None
