"""The identity client's metrics, registered in the registry the proxy passes in."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge


class ClientMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.expiration = Gauge(
            "identity_cert_expiration_timestamp_seconds",
            "When the proxy's current leaf certificate expires (Unix time; 0 before the first one).",
            registry=registry,
        )
        self.refreshes = Counter(
            "identity_cert_refresh",
            "Leaf certificates obtained from the identity service.",
            registry=registry,
        )
        self.failures = Counter(
            "identity_cert_refresh_failures",
            "Certify attempts that failed, by kind; the current certificate stays in use.",
            ["reason"],
            registry=registry,
        )
        self.anchor = Gauge(
            "identity_cert_anchor_info",
            "1 for the trust anchor (SHA-256 fingerprint) the current leaf chains to; read during a rotation.",
            ["anchor"],
            registry=registry,
        )
        self.bundle_reloads = Counter(
            "identity_trust_bundle_reloads",
            "Times a changed trust bundle file was loaded.",
            registry=registry,
        )
