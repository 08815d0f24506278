"""The GitOps reconciler: each cluster converged to the revision Git names, wave by wave.

Pure core: ``machine`` (per-cluster states), ``backoff``, ``waves`` (rollout
plan), ``health`` (live objects -> verdict), ``status`` (the status
document), ``secrets`` (which Secrets to mint).  Shells: ``cluster`` (one
cluster, one pass), ``engine`` (the fleet, concurrently), ``server``
(status, metrics, webhook), ``cli`` (the commands).  See docs/reconciler.md.
"""

from fleet.reconcile.backoff import Backoff
from fleet.reconcile.engine import FleetReconciler
from fleet.reconcile.model import ClusterState, ClusterStatus, Event, Health
from fleet.reconcile.waves import Phase, RolloutPlan, plan_rollout

__all__ = [
    "Backoff",
    "ClusterState",
    "ClusterStatus",
    "Event",
    "FleetReconciler",
    "Health",
    "Phase",
    "RolloutPlan",
    "plan_rollout",
]
