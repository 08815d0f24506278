"""Prometheus metrics of the reconciler, in a registry of its own so tests and processes never collide."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from fleet.reconcile.model import ClusterState


class ReconcileMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.duration = Histogram(
            "meshfleet_reconcile_duration_seconds", "Time to reconcile one cluster once.", ["cluster"],
            registry=self.registry, buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120))
        self.commit_to_applied = Gauge(
            "meshfleet_commit_to_applied_seconds",
            "Seconds from the commit time of the revision to it being applied in the cluster.", ["cluster"],
            registry=self.registry)
        self.drift_objects = Gauge(
            "meshfleet_drift_objects", "Objects that differ from Git at the last check.", ["cluster"],
            registry=self.registry)
        self.drift_detected = Counter(
            "meshfleet_drift_detected_total", "Drifted objects found.", ["cluster", "action"],
            registry=self.registry)
        self.errors = Counter(
            "meshfleet_reconcile_errors_total", "Failed reconcile attempts.", ["cluster", "reason"],
            registry=self.registry)
        self.state = Gauge(
            "meshfleet_cluster_state", "1 for the state each cluster is in.", ["cluster", "state"],
            registry=self.registry)
        self.refused = Counter(
            "meshfleet_revisions_refused_total", "Revisions refused as invalid.", registry=self.registry)

    def set_state(self, cluster: str, state: ClusterState) -> None:
        for s in ClusterState:
            self.state.labels(cluster=cluster, state=s.value).set(1.0 if s is state else 0.0)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
