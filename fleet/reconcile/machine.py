"""Per-cluster state transitions (pure: a status and what happened in, the next status out).

    Pending ──sync──▶ Applying ──applied──▶ Progressing ──healthy──▶ Ready
                         │                      │  ▲                   │
                         │                      ▼  │                   ▼
                         │                   Degraded ◀──unhealthy─────┘
                         ├──API refused──▶ Failed       (retried with back-off)
                         └──no answer────▶ Unreachable  (retried with back-off)

A failure or an unreachable API server keeps ``applied_revision`` as it
was: it names what the cluster last fully received.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from fleet.apply.drift import Drift
from fleet.reconcile.backoff import Backoff
from fleet.reconcile.model import ClusterState, ClusterStatus, Event, Health

MAX_EVENTS = 20


def record(status: ClusterStatus, event: Event) -> ClusterStatus:
    """``status`` with ``event`` appended, keeping the newest MAX_EVENTS."""
    return replace(status, events=(*status.events, event)[-MAX_EVENTS:])


def due(status: ClusterStatus, now: datetime) -> bool:
    """May the cluster be attempted now (its back-off has passed)?"""
    return status.next_attempt is None or now >= status.next_attempt


def applying(status: ClusterStatus, revision: str) -> ClusterStatus:
    return replace(status, state=ClusterState.APPLYING, target_revision=revision,
                   message=f"applying revision {revision[:12]}")


def applied(status: ClusterStatus, revision: str, health: Health, now: datetime, *,
            held_back: int = 0, pruned: int = 0) -> ClusterStatus:
    """The revision is in the cluster; the state now follows the workloads' health."""
    message = health.message
    if held_back and health.state is not ClusterState.DEGRADED:
        message = f"{message}; webhook registration waits for the injector to be Ready"
    state = ClusterState.PROGRESSING if held_back and health.state is ClusterState.READY else health.state
    new = replace(status, state=state, target_revision=revision, applied_revision=revision, last_sync=now,
                  message=message, reachable=True, failures=0, next_attempt=None, held_back=held_back,
                  control_plane_ready=health.control_plane_ready, issuer_not_after=health.issuer_not_after,
                  meshed_pods=health.meshed_pods, total_pods=health.total_pods)
    if status.applied_revision != revision:
        detail = f" (pruned {pruned} objects)" if pruned else ""
        new = record(new, Event(now, "Normal", "Applied", f"revision {revision[:12]} applied{detail}"))
    return new


def observed(status: ClusterStatus, health: Health, drift: tuple[Drift, ...], now: datetime) -> ClusterStatus:
    """A check of an already applied revision: new health and drift, nothing applied."""
    state, message = health.state, health.message
    if status.held_back and state is not ClusterState.DEGRADED:
        state = ClusterState.PROGRESSING
        message = f"{message}; webhook registration waits for the injector to be Ready"
    return replace(status, state=state, message=message, reachable=True, failures=0, next_attempt=None,
                   drift=drift, last_sync=now, control_plane_ready=health.control_plane_ready,
                   issuer_not_after=health.issuer_not_after, meshed_pods=health.meshed_pods,
                   total_pods=health.total_pods)


def drifted(status: ClusterStatus, drift: tuple[Drift, ...], corrected: bool, now: datetime) -> ClusterStatus:
    if not drift:
        return replace(status, drift=())
    what = "; ".join(d.describe() for d in drift[:3]) + (f"; and {len(drift) - 3} more" if len(drift) > 3 else "")
    if corrected:
        return record(replace(status, drift=()), Event(now, "Warning", "DriftCorrected", what))
    return record(replace(status, drift=drift), Event(now, "Warning", "DriftDetected", what))


def failed(status: ClusterStatus, revision: str, reason: str, now: datetime, backoff: Backoff) -> ClusterStatus:
    failures = status.failures + 1
    new = replace(status, state=ClusterState.FAILED, target_revision=revision, reachable=True, message=reason,
                  failures=failures, next_attempt=backoff.next_attempt(now, failures), last_sync=now)
    return record(new, Event(now, "Warning", "ApplyFailed", reason))


def unreachable(status: ClusterStatus, revision: str, reason: str, now: datetime,
                backoff: Backoff) -> ClusterStatus:
    failures = status.failures + 1
    new = replace(status, state=ClusterState.UNREACHABLE, target_revision=revision, reachable=False,
                  message=reason, failures=failures, next_attempt=backoff.next_attempt(now, failures),
                  control_plane_ready=False)
    if status.state is not ClusterState.UNREACHABLE:
        new = record(new, Event(now, "Warning", "Unreachable", reason))
    return new


def degraded(status: ClusterStatus, revision: str, reason: str, now: datetime, backoff: Backoff) -> ClusterStatus:
    """Applied what could be applied, but something the mesh needs is missing (an issuer, say)."""
    failures = status.failures + 1
    new = replace(status, state=ClusterState.DEGRADED, target_revision=revision, applied_revision=revision,
                  reachable=True, message=reason, failures=failures, last_sync=now,
                  next_attempt=backoff.next_attempt(now, failures))
    if status.message != reason:
        new = record(new, Event(now, "Warning", "Degraded", reason))
    return new


def held(status: ClusterStatus, revision: str, reason: str) -> ClusterStatus:
    """The rollout keeps this cluster on its current revision for now."""
    state = status.state if status.applied_revision else ClusterState.PENDING
    return replace(status, state=state, target_revision=revision, message=reason)
