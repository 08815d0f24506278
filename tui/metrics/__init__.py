"""Metric math (pure) and the thin shells that fetch its inputs."""

from tui.metrics.deltas import rates_between
from tui.metrics.exposition import parse_exposition
from tui.metrics.golden import GoldenSignals, golden, golden_by
from tui.metrics.promql import (
    CombinedQuery,
    Part,
    RateQuery,
    cluster_queries,
    combined_rates,
    overview_query,
    parse_vector,
    rate_queries,
    vector_rates,
    workloads_query,
)
from tui.metrics.quantile import bucket_quantile
from tui.metrics.samples import Rate, Sample, Scrape
from tui.metrics.summary import ClusterMetrics, WorkloadMetrics, summarize

__all__ = [
    "ClusterMetrics",
    "CombinedQuery",
    "GoldenSignals",
    "Part",
    "Rate",
    "RateQuery",
    "Sample",
    "Scrape",
    "WorkloadMetrics",
    "bucket_quantile",
    "cluster_queries",
    "combined_rates",
    "golden",
    "golden_by",
    "overview_query",
    "parse_exposition",
    "parse_vector",
    "rate_queries",
    "rates_between",
    "summarize",
    "vector_rates",
    "workloads_query",
]
