"""The benchmark scripts' own logic: their synthetic data and references must agree with the product."""

from __future__ import annotations

import importlib.util
import math
import os
import sys
from pathlib import Path
from types import ModuleType

import pytest

from tui.metrics import golden, summarize, vector_rates
from tui.metrics.promql import RateQuery, rate_queries
from tui.metrics.quantile import bucket_quantile

BENCH = Path(__file__).resolve().parents[3] / "bench"


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCH / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def tui_bench() -> ModuleType:
    return _load("tui_refresh")


def test_the_synthetic_cluster_has_60_series_per_workload(tui_bench: ModuleType) -> None:
    full = tui_bench.vectors(20)
    assert sum(len(v) for v in full.values()) == 20 * 60
    answers = {q.metric: tui_bench.answer(full[q.metric]) for q in rate_queries(tui_bench.WINDOW)}
    metrics = summarize(r for q in rate_queries(tui_bench.WINDOW) for r in vector_rates(q, answers[q.metric], "t"))
    assert len(metrics.workloads) == 20
    for w in metrics.workloads:
        for breakdown in (w.outbound, w.callers, w.endpoints, w.routes):
            assert len([name for name, g in breakdown if g.rps > 0]) == 1


def test_the_reference_loop_agrees_with_the_data_layer(tui_bench: ModuleType) -> None:
    full = tui_bench.vectors(50)
    queries = rate_queries(tui_bench.WINDOW)
    bodies = [tui_bench.answer(full[q.metric]) for q in queries]
    product = summarize(r for q, b in zip(queries, bodies, strict=True) for r in vector_rates(q, b, "t")).inbound
    naive = tui_bench._naive_cluster(bodies)
    assert naive["rps"] == pytest.approx(product.rps)
    assert naive["success_rate"] == pytest.approx(product.success_rate)
    assert naive["mtls"] == pytest.approx(product.mtls)
    for q in ("p50_ms", "p95_ms", "p99_ms"):
        assert naive[q] == pytest.approx(getattr(product, q))


def test_overview_only_answers_give_the_same_cluster_figures(tui_bench: ModuleType) -> None:
    full = tui_bench.vectors(50)
    queries = rate_queries(tui_bench.WINDOW)
    product = summarize(r for q in queries for r in vector_rates(q, tui_bench.answer(full[q.metric]), "t")).inbound
    small = tui_bench.overview_vectors(full)
    rates = [r for metric, _, promql in tui_bench.OVERVIEW_QUERIES
             for r in vector_rates(RateQuery(metric, promql), tui_bench.answer(small[promql]), "t")]
    assert len(rates) < 40
    g = golden(rates)
    assert (g.rps, g.success_rate, g.p99_ms) == pytest.approx((product.rps, product.success_rate, product.p99_ms))


@pytest.mark.parametrize("q", [0.0, 0.5, 0.95, 0.99, 1.0])
def test_the_reference_quantile_matches_histogram_quantile(tui_bench: ModuleType, q: float) -> None:
    buckets = {1.0: 2.0, 5.0: 10.0, 10.0: 40.0, 50.0: 95.0, math.inf: 100.0}
    assert tui_bench._quantile(q, buckets) == pytest.approx(bucket_quantile(q, list(buckets.items())))


def test_process_figures_come_from_proc() -> None:
    identity_bench = _load("identity_certify")
    rss, peak = identity_bench._proc_rss(os.getpid())
    assert 10 * 1024 * 1024 < rss <= peak
    assert identity_bench._proc_cpu_s(os.getpid()) > 0
