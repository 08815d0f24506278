"""Per-cluster transitions and back-off."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from fleet.apply.drift import Drift
from fleet.apply.plan import ObjectRef
from fleet.reconcile import machine
from fleet.reconcile.backoff import Backoff
from fleet.reconcile.model import ClusterState, ClusterStatus, Health

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
REV = "c" * 40
READY = Health(ClusterState.READY, "every component is Ready", True)
STARTING = Health(ClusterState.PROGRESSING, "Deployment m/identity: 0/1 available", False)


@pytest.mark.parametrize(("failures", "seconds"), [(0, 0), (1, 2), (2, 4), (3, 8), (8, 256), (9, 300), (500, 300)])
def test_backoff_doubles_up_to_the_cap(failures: int, seconds: float) -> None:
    assert Backoff(base=2, factor=2, cap=300).delay(failures) == timedelta(seconds=seconds)


def test_apply_then_health_decides_the_state() -> None:
    status = machine.applying(ClusterStatus("east"), REV)
    assert status.state is ClusterState.APPLYING
    progressing = machine.applied(status, REV, STARTING, NOW)
    assert progressing.state is ClusterState.PROGRESSING
    assert progressing.applied_revision == REV
    assert progressing.last_sync == NOW
    assert [e.reason for e in progressing.events] == ["Applied"]
    ready = machine.observed(progressing, READY, (), NOW)
    assert ready.converged


def test_held_back_webhook_keeps_a_healthy_cluster_progressing() -> None:
    status = machine.applied(ClusterStatus("east"), REV, READY, NOW, held_back=1)
    assert status.state is ClusterState.PROGRESSING
    assert "webhook registration waits" in status.message
    assert machine.observed(status, READY, (), NOW).state is ClusterState.PROGRESSING


def test_failures_back_off_and_keep_the_last_applied_revision() -> None:
    good = machine.applied(ClusterStatus("east"), "a" * 40, READY, NOW)
    backoff = Backoff(base=1, factor=2, cap=60)
    once = machine.failed(good, REV, "422 Invalid", NOW, backoff)
    twice = machine.failed(once, REV, "422 Invalid", NOW, backoff)
    assert twice.state is ClusterState.FAILED
    assert twice.applied_revision == "a" * 40
    assert twice.target_revision == REV
    assert twice.next_attempt == NOW + timedelta(seconds=2)
    assert not machine.due(twice, NOW + timedelta(seconds=1))
    assert machine.due(twice, NOW + timedelta(seconds=2))


def test_unreachable_records_one_event_per_outage_and_recovers() -> None:
    backoff = Backoff()
    down = machine.unreachable(ClusterStatus("east"), REV, "refused", NOW, backoff)
    still = machine.unreachable(down, REV, "refused", NOW, backoff)
    assert still.state is ClusterState.UNREACHABLE
    assert not still.reachable
    assert [e.reason for e in still.events] == ["Unreachable"]
    back = machine.applied(still, REV, READY, NOW)
    assert back.reachable
    assert back.failures == 0
    assert back.next_attempt is None


def test_drift_reported_or_corrected() -> None:
    drift = (Drift(ObjectRef("apps/v1", "Deployment", "m", "identity"), False, ("spec.replicas",)),)
    reported = machine.drifted(ClusterStatus("east"), drift, False, NOW)
    assert reported.drift == drift
    assert reported.events[-1].reason == "DriftDetected"
    assert "Deployment m/identity: changed outside Git (spec.replicas)" in reported.events[-1].message
    corrected = machine.drifted(ClusterStatus("east"), drift, True, NOW)
    assert corrected.drift == ()
    assert corrected.events[-1].reason == "DriftCorrected"


def test_events_are_bounded() -> None:
    status = ClusterStatus("east")
    for _ in range(machine.MAX_EVENTS + 5):
        status = machine.failed(status, REV, "boom", NOW, Backoff())
    assert len(status.events) == machine.MAX_EVENTS
