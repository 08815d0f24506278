"""Traffic metrics with the names and labels Linkerd's proxy uses.

``MetricsStore`` is plain counting (no locks: the proxy runs one event
loop); ``StoreCollector`` hands it to prometheus_client for the text
exposition. Keeping the numbers ourselves lets one metric carry different
label sets per direction (``client_id`` inbound, ``server_id`` outbound),
exactly as existing dashboards expect.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Protocol

from prometheus_client import CollectorRegistry
from prometheus_client.exposition import generate_latest
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

LATENCY_BUCKETS_MS: tuple[int, ...] = (
    1, 2, 3, 4, 5,
    10, 20, 30, 40, 50,
    100, 200, 300, 400, 500,
    1000, 2000, 3000, 4000, 5000,
    10000, 20000, 30000, 40000, 50000,
)  # fmt: skip

Labels = tuple[tuple[str, str], ...]


def traffic_labels(
    *,
    direction: str,
    authority: str = "",
    target_addr: str = "",
    peer_identity: str | None,
    no_tls_reason: str = "",
    dst_namespace: str = "",
    dst_service: str = "",
    extra: Iterable[tuple[str, str]] = (),
) -> Labels:
    """The label set shared by request, response and tcp metrics.

    A connection with a verified peer gets ``tls="true"`` and ``client_id``
    (inbound) or ``server_id`` (outbound); otherwise ``tls="no_identity"``
    with the reason.
    """
    labels: list[tuple[str, str]] = [("direction", direction)]
    if authority:
        labels.append(("authority", authority))
    if target_addr:
        labels.append(("target_addr", target_addr))
    if peer_identity:
        labels.append(("tls", "true"))
        labels.append(("client_id" if direction == "inbound" else "server_id", peer_identity))
    else:
        labels.append(("tls", "no_identity"))
        labels.append(("no_tls_reason", no_tls_reason or "not_provided_by_remote"))
    if dst_namespace:
        labels.append(("dst_namespace", dst_namespace))
    if dst_service:
        labels.append(("dst_service", dst_service))
    labels.extend(extra)
    return tuple(labels)


@dataclass(slots=True)
class Histogram:
    counts: list[int] = field(default_factory=lambda: [0] * (len(LATENCY_BUCKETS_MS) + 1))
    total: float = 0.0

    def observe(self, value_ms: float) -> None:
        self.counts[bisect.bisect_left(LATENCY_BUCKETS_MS, value_ms)] += 1
        self.total += value_ms

    def cumulative(self) -> list[int]:
        out: list[int] = []
        running = 0
        for c in self.counts:
            running += c
            out.append(running)
        return out


GaugeSource = Callable[[], Iterable[tuple[Labels, float]]]


class Counted(Protocol):
    """Byte counters of one connection (read and written so far)."""

    read: int
    written: int


class MetricsStore:
    def __init__(self) -> None:
        self.requests: dict[Labels, float] = {}
        self.responses: dict[Labels, float] = {}
        self.latency: dict[Labels, Histogram] = {}
        self.tcp_open: dict[Labels, float] = {}
        self.tcp_close: dict[Labels, float] = {}
        self.tcp_open_now: dict[Labels, float] = {}
        self.tcp_read: dict[Labels, float] = {}
        self.tcp_write: dict[Labels, float] = {}
        self.counters: dict[str, dict[Labels, float]] = {}
        self.gauge_sources: dict[str, tuple[str, GaugeSource]] = {}
        self.live: dict[int, tuple[Labels, Counted]] = {}
        # Registries of parts kept by prometheus_client itself (the identity client's metrics).
        self.registries: list[CollectorRegistry] = []
        self._next_token = 0

    @staticmethod
    def _bump(table: dict[Labels, float], labels: Labels, by: float = 1.0) -> None:
        table[labels] = table.get(labels, 0.0) + by

    # -- HTTP --------------------------------------------------------------
    def request(self, labels: Labels) -> None:
        self._bump(self.requests, labels)

    def response(self, labels: Labels, status: int | None, latency_ms: float, *, failed: bool) -> None:
        status_labels = labels + (("status_code", str(status)),) if status is not None else labels
        classification = "failure" if failed else "success"
        self._bump(self.responses, status_labels + (("classification", classification),))
        hist = self.latency.get(status_labels)
        if hist is None:
            hist = self.latency[status_labels] = Histogram()
        hist.observe(latency_ms)

    # -- TCP ---------------------------------------------------------------
    def tcp_opened(self, labels: Labels, count: Counted) -> int:
        """Start accounting a connection; ``count`` is read live, so long-lived
        connections show their bytes before they close. Returns a token for ``tcp_closed``."""
        self._bump(self.tcp_open, labels)
        self._bump(self.tcp_open_now, labels)
        self._next_token += 1
        self.live[self._next_token] = (labels, count)
        return self._next_token

    def tcp_closed(self, token: int, errno: str = "") -> None:
        entry = self.live.pop(token, None)
        if entry is None:
            return
        labels, count = entry
        self._bump(self.tcp_close, labels + (("errno", errno),))
        self._bump(self.tcp_open_now, labels, -1.0)
        if count.read:
            self._bump(self.tcp_read, labels, count.read)
        if count.written:
            self._bump(self.tcp_write, labels, count.written)

    def _with_live(self, table: dict[Labels, float], attr: str) -> dict[Labels, float]:
        merged = dict(table)
        for labels, count in self.live.values():
            value = getattr(count, attr)
            if value:
                merged[labels] = merged.get(labels, 0.0) + value
        return merged

    # -- anything else -----------------------------------------------------
    def count(self, name: str, labels: Labels, by: float = 1.0) -> None:
        self._bump(self.counters.setdefault(name, {}), labels, by)

    def add_gauge(self, name: str, help_text: str, source: GaugeSource) -> None:
        self.gauge_sources[name] = (help_text, source)


_HELP = {
    "request": "Total number of HTTP requests the proxy has received.",
    "response": "Total number of HTTP responses the proxy has sent.",
    "tcp_open": "Total number of TCP connections opened.",
    "tcp_close": "Total number of TCP connections closed.",
    "tcp_read_bytes": "Total bytes read from peers.",
    "tcp_write_bytes": "Total bytes written to peers.",
}


class StoreCollector(Collector):
    def __init__(self, store: MetricsStore) -> None:
        self._store = store

    def collect(self) -> Iterator[Metric]:
        s = self._store
        yield _counter("request", _HELP["request"], s.requests)
        yield _counter("response", _HELP["response"], s.responses)
        yield _histogram("response_latency_ms", "Elapsed times between a request and its response.", s.latency)
        yield _counter("tcp_open", _HELP["tcp_open"], s.tcp_open)
        yield _counter("tcp_close", _HELP["tcp_close"], s.tcp_close)
        yield _gauge("tcp_open_connections", "Number of currently open connections.", s.tcp_open_now.items())
        yield _counter("tcp_read_bytes", _HELP["tcp_read_bytes"], s._with_live(s.tcp_read, "read"))
        yield _counter("tcp_write_bytes", _HELP["tcp_write_bytes"], s._with_live(s.tcp_write, "written"))
        for name, table in sorted(s.counters.items()):
            yield _counter(name, name.replace("_", " ") + ".", table)
        for name, (help_text, source) in sorted(s.gauge_sources.items()):
            yield _gauge(name, help_text, source())


def _counter(name: str, help_text: str, table: dict[Labels, float]) -> Metric:
    metric = Metric(name, help_text, "counter")
    for labels, value in table.items():
        metric.add_sample(name + "_total", dict(labels), value)
    return metric


def _gauge(name: str, help_text: str, samples: Iterable[tuple[Labels, float]]) -> Metric:
    metric = Metric(name, help_text, "gauge")
    for labels, value in samples:
        metric.add_sample(name, dict(labels), value)
    return metric


def _histogram(name: str, help_text: str, table: dict[Labels, Histogram]) -> Metric:
    metric = Metric(name, help_text, "histogram")
    for labels, hist in table.items():
        base = dict(labels)
        cumulative = hist.cumulative()
        for bound, count in zip(LATENCY_BUCKETS_MS, cumulative, strict=False):
            metric.add_sample(name + "_bucket", {**base, "le": str(bound)}, count)
        metric.add_sample(name + "_bucket", {**base, "le": "+Inf"}, cumulative[-1])
        metric.add_sample(name + "_count", base, cumulative[-1])
        metric.add_sample(name + "_sum", base, hist.total)
    return metric


def exposition(store: MetricsStore) -> bytes:
    """The Prometheus text format of everything in ``store``."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(StoreCollector(store))
    return generate_latest(registry) + b"".join(generate_latest(r) for r in store.registries)
