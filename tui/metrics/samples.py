"""The values metric math works on: labelled samples, scrapes and per-second rates."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

# Sorted (name, value) pairs: hashable, so a series can key a dict.
Labels = tuple[tuple[str, str], ...]

REQUEST_TOTAL = "request_total"
RESPONSE_TOTAL = "response_total"
LATENCY_BUCKET = "response_latency_ms_bucket"
TCP_OPEN = "tcp_open_connections"
#: Not a proxy series: a percentile Prometheus computed (label ``quantile``), in milliseconds.
LATENCY_QUANTILE = "response_latency_ms_quantile"

#: The series the dashboard reads; everything else in an exposition is dropped on parse.
WANTED = frozenset({REQUEST_TOTAL, RESPONSE_TOTAL, LATENCY_BUCKET, TCP_OPEN})
#: Series that are gauges, passed through as they are instead of turned into rates.
GAUGES = frozenset({TCP_OPEN})


def labels_of(mapping: Mapping[str, str]) -> Labels:
    return tuple(sorted(mapping.items()))


def label(labels: Labels, name: str, default: str = "") -> str:
    for k, v in labels:
        if k == name:
            return v
    return default


def without(labels: Labels, name: str) -> Labels:
    return tuple(kv for kv in labels if kv[0] != name)


@dataclass(frozen=True, slots=True)
class Sample:
    """One series' value at scrape time (a counter, a histogram bucket or a gauge)."""

    name: str
    labels: Labels
    value: float


@dataclass(frozen=True, slots=True)
class Scrape:
    """Everything one /metrics endpoint said, and when (monotonic seconds)."""

    at: float
    samples: tuple[Sample, ...]


@dataclass(frozen=True, slots=True)
class Rate:
    """A series' per-second increase over a window (or, for gauges, its current value)."""

    name: str
    labels: Labels
    per_second: float

    def label(self, name: str, default: str = "") -> str:
        return label(self.labels, name, default)
