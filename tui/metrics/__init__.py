"""Metric math (pure) and the thin shells that fetch its inputs."""

from tui.metrics.deltas import rates_between
from tui.metrics.exposition import parse_exposition
from tui.metrics.golden import GoldenSignals, golden, golden_by
from tui.metrics.promql import cluster_queries, parse_vector, rate_queries, vector_rates
from tui.metrics.quantile import bucket_quantile
from tui.metrics.samples import Rate, Sample, Scrape
from tui.metrics.summary import ClusterMetrics, WorkloadMetrics, summarize

__all__ = [
    "ClusterMetrics",
    "GoldenSignals",
    "Rate",
    "Sample",
    "Scrape",
    "WorkloadMetrics",
    "bucket_quantile",
    "cluster_queries",
    "golden",
    "golden_by",
    "parse_exposition",
    "parse_vector",
    "rate_queries",
    "rates_between",
    "summarize",
    "vector_rates",
]
