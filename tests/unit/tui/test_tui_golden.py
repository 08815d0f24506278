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
        + inbound("api", 4, 0, pod="api-2")
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
