"""The identity service's Prometheus metrics, in a registry of its own."""

from __future__ import annotations

import time
from collections.abc import Callable

from cryptography import x509
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class IdentityMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        self.issued = Counter(
            "identity_certificates_issued",
            "Leaf certificates issued.",
            registry=self.registry,
        )
        self.refusals = Counter(
            "identity_certify_refusals",
            "Certify requests refused, by error code.",
            ["reason"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "identity_certify_duration_seconds",
            "Time to answer a certify request, refusals included.",
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.issuer_updates = Counter(
            "identity_issuer_updates",
            "Times a new issuer certificate was loaded and put to use.",
            registry=self.registry,
        )
        self.issuer_rejections = Counter(
            "identity_issuer_rejections",
            "Issuer files refused, by reason; the previous issuer stays in use.",
            ["reason"],
            registry=self.registry,
        )
        self._issuer_ttl = Gauge(
            "issuer_cert_ttl_seconds",
            "Seconds until the issuer certificate in use expires (0 when none is loaded).",
            registry=self.registry,
        )

    def track_issuer(self, current: Callable[[], x509.Certificate | None]) -> None:
        """Compute issuer_cert_ttl_seconds at scrape time from whatever issuer is in use then."""

        def ttl() -> float:
            cert = current()
            return 0.0 if cert is None else max(cert.not_valid_after_utc.timestamp() - time.time(), 0.0)

        self._issuer_ttl.set_function(ttl)
