"""What the reconciler knows about each cluster, as immutable values."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from fleet.apply.drift import Drift


class ClusterState(StrEnum):
    """Where one cluster stands (the same names the status document and the dashboard use)."""

    PENDING = "Pending"          # known, nothing attempted yet (or held back by the rollout)
    APPLYING = "Applying"        # objects are being applied now
    PROGRESSING = "Progressing"  # applied; workloads are still starting
    READY = "Ready"              # applied and every component healthy
    DEGRADED = "Degraded"        # applied, but something is unhealthy or missing
    FAILED = "Failed"            # the API server refused the revision
    UNREACHABLE = "Unreachable"  # no answer from the API server


@dataclass(frozen=True, slots=True)
class Event:
    time: datetime
    type: str  # Normal or Warning, as Kubernetes Events
    reason: str
    message: str


@dataclass(frozen=True, slots=True)
class Health:
    """The verdict on the live mesh of one cluster."""

    state: ClusterState  # READY, PROGRESSING or DEGRADED
    message: str
    control_plane_ready: bool
    issuer_not_after: datetime | None = None
    meshed_pods: int = 0
    total_pods: int = 0


@dataclass(frozen=True, slots=True)
class ClusterStatus:
    name: str
    state: ClusterState = ClusterState.PENDING
    target_revision: str = ""
    applied_revision: str = ""
    last_sync: datetime | None = None
    message: str = ""
    reachable: bool = True
    control_plane_ready: bool = False
    failures: int = 0
    next_attempt: datetime | None = None
    drift: tuple[Drift, ...] = ()
    held_back: int = 0  # webhook configurations waiting for their server
    issuer_not_after: datetime | None = None
    meshed_pods: int = 0
    total_pods: int = 0
    events: tuple[Event, ...] = field(default=())

    @property
    def converged(self) -> bool:
        """Ready at the revision it is meant to run."""
        return self.state is ClusterState.READY and self.applied_revision == self.target_revision != ""

    def ready_at(self, revision: str) -> bool:
        return self.state is ClusterState.READY and self.applied_revision == revision
