"""Golden signals (success rate, RPS, latency percentiles, mTLS share) from rates (pure).

Inputs are per-second rates of the Linkerd-compatible series, whether computed from two scrapes
or returned by Prometheus's rate().  Everything is summed first and divided last: a success rate
is summed successes over summed responses, never an average of percentages; a percentile comes
from summed bucket rates, never an average of percentiles.

Which side counts: a request between two meshed pods is seen twice (outbound at the client,
inbound at the server).  Cluster and workload figures use the inbound side, which also sees
callers from outside the mesh; the outbound side is used per destination.

Percentiles Prometheus computed itself (``response_latency_ms_quantile{quantile}``, asked for
when buckets per row would be too many series) are taken as they are when one series gives a
group's percentile, and left unknown when several would have to be combined.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field
from typing import TypeVar

from tui.metrics.quantile import bucket_quantile
from tui.metrics.samples import LATENCY_BUCKET, LATENCY_QUANTILE, REQUEST_TOTAL, RESPONSE_TOTAL, TCP_OPEN, Rate

K = TypeVar("K", bound=Hashable)


@dataclass(frozen=True, slots=True)
class GoldenSignals:
    """The golden signals of one group of series (a cluster, a workload, a route...)."""

    rps: float
    success_rate: float | None  # None: no responses in the window
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None
    mtls: float | None  # share of requests over mTLS; None: no requests
    open_connections: float = 0.0


@dataclass(slots=True)
class _Acc:
    success: float = 0.0
    failure: float = 0.0
    requests: float = 0.0
    tls_requests: float = 0.0
    buckets: dict[float, float] = field(default_factory=lambda: defaultdict(float))
    open_connections: float = 0.0
    # Percentiles Prometheus already computed, per quantile: usable only when exactly one series
    # gives it, because percentiles of separate groups cannot be combined.
    quantiles: dict[float, list[float]] = field(default_factory=lambda: defaultdict(list))

    def add(self, r: Rate) -> None:
        if r.name == RESPONSE_TOTAL:
            if r.label("classification") == "success":
                self.success += r.per_second
            else:
                self.failure += r.per_second
        elif r.name == REQUEST_TOTAL:
            self.requests += r.per_second
            if r.label("tls") == "true":
                self.tls_requests += r.per_second
        elif r.name == LATENCY_BUCKET:
            le = _bound(r.label("le"))
            if le is not None:
                self.buckets[le] += r.per_second
        elif r.name == TCP_OPEN:
            self.open_connections += r.per_second
        elif r.name == LATENCY_QUANTILE:
            q = _bound(r.label("quantile"))
            if q is not None:
                self.quantiles[q].append(r.per_second)

    def quantile(self, q: float) -> float | None:
        if self.buckets:
            return bucket_quantile(q, list(self.buckets.items()))
        given = self.quantiles.get(q, [])
        return given[0] if len(given) == 1 else None

    def signals(self) -> GoldenSignals:
        responses = self.success + self.failure
        return GoldenSignals(
            rps=responses,
            success_rate=self.success / responses if responses > 0 else None,
            p50_ms=self.quantile(0.5),
            p95_ms=self.quantile(0.95),
            p99_ms=self.quantile(0.99),
            mtls=self.tls_requests / self.requests if self.requests > 0 else None,
            open_connections=self.open_connections,
        )


def _bound(le: str) -> float | None:
    try:
        v = float(le)
    except ValueError:
        return None
    return None if math.isnan(v) else v


def golden_by(rates: Iterable[Rate], key: Callable[[Rate], K | None]) -> dict[K, GoldenSignals]:
    """Group ``rates`` by ``key`` (None drops the rate) and compute each group's signals."""
    groups: dict[K, _Acc] = defaultdict(_Acc)
    for r in rates:
        k = key(r)
        if k is not None:
            groups[k].add(r)
    return {k: acc.signals() for k, acc in groups.items()}


def golden(rates: Iterable[Rate]) -> GoldenSignals:
    """Signals of all ``rates`` together (an empty input gives zero RPS and no ratios)."""
    return golden_by(rates, lambda _r: ()).get((), _Acc().signals())
