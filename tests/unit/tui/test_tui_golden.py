import pytest

from tui.metrics import Rate, golden, summarize
from tui.metrics.summary import NO_IDENTITY


def r(name: str, per_second: float, **labels: str) -> Rate:
    return Rate(name, tuple(sorted(labels.items())), per_second)


def inbound(deployment: str, success: float, failure: float, **extra: str) -> list[Rate]:
    lab = {"direction": "inbound", "namespace": "shop", "deployment": deployment, **extra}
    return [
        r("response_total", success, classification="success", **lab),
        r("response_total", failure, classification="failure", **lab),
    ]


def test_success_rate_is_summed_successes_over_summed_responses() -> None:
    # A busy failing workload and a quiet perfect one: 91/101, not the 95 % an average gives.
    rates = inbound("api", 90, 10) + inbound("cart", 1, 0)
    g = golden(rates)
    assert g.rps == pytest.approx(101)
    assert g.success_rate == pytest.approx(91 / 101)


def test_latency_percentiles_come_from_summed_buckets() -> None:
    b = "response_latency_ms_bucket"
    # api: 10/s all <= 1 ms; cart: 10/s all in (10, 20].  Together the p95 is in cart's bucket:
    # rank 19 of 20 -> 10 + 10 * (19-10)/10 = 19 ms.  Averaging their own p95s (0.95 and 19.5)
    # would say about 10 ms.
    rates = [
        r(b, 10, le="1", deployment="api"), r(b, 10, le="10", deployment="api"),
        r(b, 10, le="20", deployment="api"), r(b, 10, le="+Inf", deployment="api"),
        r(b, 0, le="1", deployment="cart"), r(b, 0, le="10", deployment="cart"),
        r(b, 10, le="20", deployment="cart"), r(b, 10, le="+Inf", deployment="cart"),
    ]
    g = golden(rates)
    assert g.p95_ms == pytest.approx(19.0)
    assert g.p50_ms == pytest.approx(1.0)


def test_mtls_is_the_share_of_requests_with_tls_true() -> None:
    rates = [r("request_total", 30, tls="true"), r("request_total", 10, tls="false")]
    assert golden(rates).mtls == pytest.approx(0.75)


def test_no_traffic_means_no_ratios_rather_than_zero() -> None:
    g = golden([])
    assert (g.rps, g.success_rate, g.mtls, g.p99_ms) == (0.0, None, None, None)


def test_summary_splits_inbound_outbound_callers_and_endpoints() -> None:
    rates = (
        inbound("api", 8, 2, client_id="web.shop.serviceaccount.identity.meshfleet.example", pod="api-1")
        + inbound("api", 4, 0, pod="api-2", tls="no_identity")
        + [r("response_total", 6, classification="success", direction="outbound", namespace="shop",
             deployment="api", dst_service="db", dst_namespace="data")]
    )
    m = summarize(rates)
    # The outbound call is not counted again in the cluster's inbound figures.
    assert m.inbound.rps == pytest.approx(14)
    api = m.workload("shop", "api")
    assert api is not None
    assert api.inbound.success_rate == pytest.approx(12 / 14)
    assert dict(api.outbound)["db.data"].rps == pytest.approx(6)
    callers = dict(api.callers)
    assert callers["web.shop.serviceaccount.identity.meshfleet.example"].success_rate == pytest.approx(0.8)
    assert callers[NO_IDENTITY].rps == pytest.approx(4)
    assert sorted(dict(api.endpoints)) == ["api-1", "api-2"]


def test_series_without_a_breakdowns_labels_add_no_rows_to_it() -> None:
    # As Prometheus answers when requests and connections are summed by workload only: those
    # series count for the workload, but say nothing about routes, pods or callers.
    rates = (
        inbound("api", 9, 1, client_id="web.shop.serviceaccount.identity.meshfleet.example", pod="api-1",
                authority="api.shop.svc:8080")
        + [r("request_total", 10, direction="inbound", namespace="shop", deployment="api", tls="true"),
           r("tcp_open_connections", 3, direction="inbound", namespace="shop", deployment="api"),
           r("tcp_open_connections", 4, direction="inbound"),
           r("response_total", 5, classification="success", direction="outbound", namespace="shop",
             deployment="api")]
    )
    m = summarize(rates)
    assert [w.name for w in m.workloads] == ["api"]  # the connections of no workload make no row
    assert m.inbound.open_connections == 7
    api = m.workload("shop", "api")
    assert api is not None
    assert [name for name, _ in api.routes] == ["api.shop.svc:8080"]
    assert [name for name, _ in api.endpoints] == ["api-1"]
    assert [name for name, _ in api.callers] == ["web.shop.serviceaccount.identity.meshfleet.example"]
    assert api.outbound == ()  # an outbound series with no destination names none
    assert api.inbound.mtls == 1.0
    assert api.inbound.open_connections == 3
    assert dict(api.routes)["api.shop.svc:8080"].rps == pytest.approx(10)


def test_percentiles_computed_by_prometheus_are_used_alone_never_combined() -> None:
    q = "response_latency_ms_quantile"
    one = golden([r(q, 12.0, quantile="0.99", deployment="api"), r(q, 3.0, quantile="0.5", deployment="api")])
    assert (one.p50_ms, one.p95_ms, one.p99_ms) == (3.0, None, 12.0)
    two = golden([r(q, 12.0, quantile="0.99", deployment="api"), r(q, 40.0, quantile="0.99", deployment="cart")])
    assert two.p99_ms is None  # two workloads' p99s cannot make their joint p99
