"""The rollout plan: which clusters may run the new revision, and when the rollout halts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fleet.config import Wave
from fleet.reconcile.model import ClusterState, ClusterStatus
from fleet.reconcile.waves import Phase, plan_rollout

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
NEW, OLD = "b" * 40, "a" * 40
WAVES = (Wave(("north",), timedelta(minutes=10)), Wave(("east", "west"), timedelta(minutes=10)))


def st(name: str, state: ClusterState, applied: str = NEW, target: str = NEW, message: str = "") -> ClusterStatus:
    return ClusterStatus(name, state=state, applied_revision=applied, target_revision=target, message=message)


def statuses(*items: ClusterStatus) -> dict[str, ClusterStatus]:
    return {s.name: s for s in items}


def test_first_wave_starts_alone() -> None:
    plan = plan_rollout(WAVES, NEW, {}, {}, NOW)
    assert plan.phase is Phase.ROLLING
    assert plan.allowed == {"north"}
    assert plan.current_wave == 0
    assert plan.wave_started == {0: NOW}


def test_next_wave_waits_while_the_first_is_progressing() -> None:
    s = statuses(st("north", ClusterState.PROGRESSING))
    plan = plan_rollout(WAVES, NEW, s, {0: NOW}, NOW + timedelta(minutes=1))
    assert plan.allowed == {"north"}
    assert "waiting for north (Progressing)" in plan.message


def test_ready_at_the_old_revision_does_not_count() -> None:
    s = statuses(st("north", ClusterState.READY, applied=OLD))
    assert plan_rollout(WAVES, NEW, s, {0: NOW}, NOW).allowed == {"north"}


def test_next_wave_starts_once_the_first_is_ready_at_the_new_revision() -> None:
    s = statuses(st("north", ClusterState.READY))
    later = NOW + timedelta(minutes=2)
    plan = plan_rollout(WAVES, NEW, s, {0: NOW}, later)
    assert plan.allowed == {"north", "east", "west"}
    assert plan.current_wave == 1
    assert plan.wave_started == {0: NOW, 1: later}


def test_complete_when_every_cluster_is_ready() -> None:
    s = statuses(*(st(n, ClusterState.READY) for n in ("north", "east", "west")))
    plan = plan_rollout(WAVES, NEW, s, {0: NOW, 1: NOW}, NOW)
    assert plan.phase is Phase.COMPLETE
    assert plan.current_wave is None


def test_a_failure_halts_and_later_waves_stay_put() -> None:
    s = statuses(st("north", ClusterState.FAILED, applied=OLD, message="422 Invalid: spec.replicas"))
    plan = plan_rollout(WAVES, NEW, s, {0: NOW}, NOW)
    assert plan.phase is Phase.HALTED
    assert plan.allowed == {"north"}
    assert plan.halt_reason is not None
    assert "north is Failed: 422 Invalid: spec.replicas" in plan.halt_reason


def test_a_failure_at_an_older_target_does_not_halt_the_new_rollout() -> None:
    s = statuses(st("north", ClusterState.FAILED, applied=OLD, target=OLD))
    assert plan_rollout(WAVES, NEW, s, {}, NOW).phase is Phase.ROLLING


def test_wave_timeout_halts() -> None:
    s = statuses(st("north", ClusterState.PROGRESSING))
    plan = plan_rollout(WAVES, NEW, s, {0: NOW}, NOW + timedelta(minutes=11))
    assert plan.phase is Phase.HALTED
    assert "not Ready within 0:10:00; waiting for north (Progressing)" in plan.message


def test_a_recorded_halt_keeps_later_waves_from_starting_even_when_ready() -> None:
    s = statuses(st("north", ClusterState.READY))
    plan = plan_rollout(WAVES, NEW, s, {0: NOW}, NOW, halted="halted earlier")
    assert plan.phase is Phase.HALTED
    assert plan.allowed == {"north"}


def test_pause_starts_no_new_wave_but_lets_started_ones_continue() -> None:
    assert plan_rollout(WAVES, NEW, {}, {}, NOW, paused=True).allowed == frozenset()
    s = statuses(st("north", ClusterState.PROGRESSING))
    plan = plan_rollout(WAVES, NEW, s, {0: NOW}, NOW, paused=True)
    assert plan.phase is Phase.PAUSED
    assert plan.allowed == {"north"}
    ready = statuses(st("north", ClusterState.READY))
    assert plan_rollout(WAVES, NEW, ready, {0: NOW}, NOW, paused=True).allowed == {"north"}
