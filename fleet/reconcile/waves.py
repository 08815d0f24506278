"""Fleet rollout by waves (pure: waves, statuses, the time and the pause/halt flags in; a plan out).

A wave starts only when every cluster of every earlier wave is Ready *at the
new revision*.  A cluster of the current wave that fails (Failed or
Degraded at the new revision), or a wave that outlives its timeout, halts
the rollout: later waves stay on the revision they run, until a new
revision arrives or someone resumes the rollout.  Pausing stops new waves
from starting; clusters of waves already started keep converging.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from fleet.config import Wave
from fleet.reconcile.model import ClusterState, ClusterStatus

_FAILING = (ClusterState.FAILED, ClusterState.DEGRADED)


class Phase(StrEnum):
    ROLLING = "Rolling"
    PAUSED = "Paused"
    HALTED = "Halted"
    COMPLETE = "Complete"


@dataclass(frozen=True, slots=True)
class RolloutPlan:
    revision: str
    phase: Phase
    message: str
    allowed: frozenset[str]  # clusters that should run ``revision`` now
    current_wave: int | None  # index of the wave being waited on; None when complete
    wave_started: Mapping[int, datetime] = field(default_factory=dict)  # including any wave started now
    halt_reason: str | None = None


def _status(statuses: Mapping[str, ClusterStatus], name: str) -> ClusterStatus:
    return statuses.get(name) or ClusterStatus(name)


def _describe(wave: Wave, index: int, total: int) -> str:
    return f"wave {index + 1}/{total} ({', '.join(wave.clusters)})"


def plan_rollout(waves: tuple[Wave, ...], revision: str, statuses: Mapping[str, ClusterStatus],
                 wave_started: Mapping[int, datetime], now: datetime, *, paused: bool = False,
                 halted: str | None = None) -> RolloutPlan:
    started = dict(wave_started)
    allowed: set[str] = set()
    total = len(waves)
    for index, wave in enumerate(waves):
        label = _describe(wave, index, total)
        if index not in started:
            if halted is not None:
                return RolloutPlan(revision, Phase.HALTED, halted, frozenset(allowed), index, started, halted)
            if paused:
                message = f"paused before {label}; `meshfleet rollout resume` continues"
                return RolloutPlan(revision, Phase.PAUSED, message, frozenset(allowed), index, started)
            started[index] = now
        allowed.update(wave.clusters)
        members = [_status(statuses, name) for name in wave.clusters]
        if all(s.ready_at(revision) for s in members):
            continue
        failing = [s for s in members if s.target_revision == revision and s.state in _FAILING]
        if failing:
            first = failing[0]
            reason = (f"rollout of {revision[:12]} halted: {label}: {first.name} is {first.state}: {first.message}; "
                      "later waves stay on their current revision")
            return RolloutPlan(revision, Phase.HALTED, reason, frozenset(allowed), index, started, reason)
        if now - started[index] > wave.timeout:
            waiting = ", ".join(f"{s.name} ({s.state})" for s in members if not s.ready_at(revision))
            reason = (f"rollout of {revision[:12]} halted: {label} not Ready within {wave.timeout}; "
                      f"waiting for {waiting}")
            return RolloutPlan(revision, Phase.HALTED, reason, frozenset(allowed), index, started, reason)
        waiting = ", ".join(f"{s.name} ({s.state})" for s in members if not s.ready_at(revision))
        phase = Phase.PAUSED if paused else Phase.ROLLING
        return RolloutPlan(revision, phase, f"{label}: waiting for {waiting}", frozenset(allowed), index, started)
    return RolloutPlan(revision, Phase.COMPLETE, f"revision {revision[:12]} is Ready on every cluster",
                       frozenset(allowed), None, started)
