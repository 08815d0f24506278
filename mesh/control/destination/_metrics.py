"""The destination service's Prometheus metrics, in a registry of its own."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

FANOUT_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


class DestinationMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        self.streams = Gauge("destination_streams", "Open proxy streams.", registry=self.registry)
        self.subscriptions = Gauge(
            "destination_subscriptions", "Active subscriptions, by kind.", ["kind"], registry=self.registry
        )
        self.messages = Counter(
            "destination_messages_sent", "Messages sent to proxies, by type.", ["type"], registry=self.registry
        )
        self.watch_events = Counter(
            "destination_watch_events",
            "Kubernetes watch events applied, by collection.",
            ["collection"],
            registry=self.registry,
        )
        self.policy_errors = Gauge(
            "destination_invalid_policy_objects", "Policy objects skipped as unreadable.", registry=self.registry
        )
        self.fanout = Histogram(
            "destination_fanout_duration_seconds",
            "From the first watch event of a batch to every subscriber's update written.",
            buckets=FANOUT_BUCKETS,
            registry=self.registry,
        )
        self.refused = Counter(
            "destination_subscriptions_refused",
            "Subscriptions answered with an error, by code.",
            ["code"],
            registry=self.registry,
        )
