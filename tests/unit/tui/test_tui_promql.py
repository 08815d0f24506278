"""Reading answers to the combined queries the dashboard sends to Prometheus."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tui.errors import PrometheusError
from tui.metrics import combined_rates, golden, overview_query, workloads_query
from tui.metrics.promql import TAG, rate_queries


def answer(*series: tuple[dict[str, str], str]) -> str:
    result: list[dict[str, Any]] = [{"metric": m, "value": [1.0, v]} for m, v in series]
    return json.dumps({"status": "success", "data": {"resultType": "vector", "result": result}})


def test_overview_answer_parts_become_cluster_signals() -> None:
    body = answer(
        ({TAG: "responses", "classification": "success"}, "95"),
        ({TAG: "responses", "classification": "failure"}, "5"),
        ({TAG: "requests", "tls": "true"}, "75"),
        ({TAG: "requests", "tls": "no_identity"}, "25"),
        ({TAG: "latency", "le": "10"}, "50"),
        ({TAG: "latency", "le": "20"}, "100"),
        ({TAG: "latency", "le": "+Inf"}, "100"),
        ({TAG: "connections"}, "7"),
    )
    g = golden(combined_rates(overview_query(), body, "http://prom"))
    assert (g.rps, g.success_rate, g.mtls, g.open_connections) == (100, 0.95, 0.75, 7)
    assert g.p50_ms == pytest.approx(10.0)
    assert g.p99_ms == pytest.approx(19.8)  # rank 99 of 100 in (10, 20]: 10 + 10 * 49/50


def test_workloads_answer_carries_prometheus_percentiles_and_drops_nan() -> None:
    body = answer(
        ({TAG: "inbound-p0.99", "direction": "inbound", "namespace": "shop", "deployment": "api"}, "42"),
        ({TAG: "inbound-p0.5", "direction": "inbound", "namespace": "shop", "deployment": "cart"}, "NaN"),
    )
    rates = combined_rates(workloads_query(), body, "http://prom")
    assert [(r.name, r.label("quantile"), r.per_second) for r in rates] == [
        ("response_latency_ms_quantile", "0.99", 42.0)]


def test_series_of_another_query_are_refused() -> None:
    body = answer(({"classification": "success"}, "1"))
    with pytest.raises(PrometheusError, match="http://prom: series .* belongs to no part"):
        combined_rates(overview_query(), body, "http://prom")


def test_workload_queries_select_that_workload_with_escaped_names() -> None:
    for q in rate_queries("1m", ("shop", 'we"ird')):
        assert 'namespace="shop",deployment="we\\"ird"' in q.promql


def test_a_bad_window_is_refused() -> None:
    with pytest.raises(ValueError, match="range window"):
        overview_query("1 minute")
