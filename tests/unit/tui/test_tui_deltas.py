import pytest

from tui.metrics import Sample, Scrape, rates_between
from tui.metrics.samples import Labels


def s(name: str, value: float, **labels: str) -> Sample:
    lab: Labels = tuple(sorted(labels.items()))
    return Sample(name, lab, value)


def rate_of(rates: tuple, name: str, **labels: str) -> float:  # type: ignore[type-arg]
    want = tuple(sorted(labels.items()))
    (match,) = [r.per_second for r in rates if r.name == name and r.labels == want]
    return float(match)


def test_counter_increase_over_window() -> None:
    prev = Scrape(100.0, (s("response_total", 100, classification="success"),))
    cur = Scrape(110.0, (s("response_total", 150, classification="success"),))
    assert rate_of(rates_between(prev, cur), "response_total", classification="success") == 5.0


def test_counter_reset_counts_the_new_value() -> None:
    # The proxy restarted: 100 before, 30 now -> 30 requests since the restart over 10 s.
    prev = Scrape(0.0, (s("request_total", 100),))
    cur = Scrape(10.0, (s("request_total", 30),))
    assert rate_of(rates_between(prev, cur), "request_total") == 3.0


def test_new_series_started_from_zero() -> None:
    prev = Scrape(0.0, ())
    cur = Scrape(4.0, (s("request_total", 8, deployment="api"),))
    assert rate_of(rates_between(prev, cur), "request_total", deployment="api") == 2.0


def test_histogram_reset_resets_every_bucket_together() -> None:
    # Only the +Inf bucket went down, yet the le=1 bucket must be reset too, or the histogram
    # would no longer be cumulative (0.5/s under 1 ms but 5.8/s in total is fine; 0.5 vs 5.8
    # computed from mixed bases is not).
    b = "response_latency_ms_bucket"
    prev = Scrape(0.0, (s(b, 50, le="1"), s(b, 60, le="+Inf")))
    cur = Scrape(10.0, (s(b, 55, le="1"), s(b, 58, le="+Inf")))
    rates = rates_between(prev, cur)
    assert rate_of(rates, b, le="1") == pytest.approx(5.5)
    assert rate_of(rates, b, le="+Inf") == pytest.approx(5.8)


def test_gauges_pass_through() -> None:
    prev = Scrape(0.0, (s("tcp_open_connections", 9),))
    cur = Scrape(2.0, (s("tcp_open_connections", 4),))
    assert rate_of(rates_between(prev, cur), "tcp_open_connections") == 4.0


def test_scrapes_out_of_order_are_refused() -> None:
    with pytest.raises(ValueError, match="after"):
        rates_between(Scrape(5.0, ()), Scrape(5.0, ()))
