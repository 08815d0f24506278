import pytest
from tui_expo import Traffic, exposition

from tui.errors import ExpositionInvalid
from tui.metrics import parse_exposition
from tui.metrics.samples import label


def test_reads_the_linkerd_series_and_adds_instance() -> None:
    text = exposition([Traffic("api", success=7, failure=1, latencies={"5": 8})], open_connections=3)
    samples = parse_exposition(text + "process_cpu_seconds_total 12\n", "http://p:4191/metrics",
                               extra=(("instance", "p:4191"),))
    names = {s.name for s in samples}
    assert names == {"request_total", "response_total", "response_latency_ms_bucket", "tcp_open_connections"}
    assert all(label(s.labels, "instance") == "p:4191" for s in samples)
    ok = [s for s in samples if s.name == "response_total" and label(s.labels, "classification") == "success"]
    assert [s.value for s in ok] == [7.0]
    assert len([s for s in samples if s.name == "response_latency_ms_bucket"]) == 26


@pytest.mark.parametrize("garbage", ["<html><body>502 Bad Gateway</body></html>", "metric{oops 1\n", "a b c d\n"])
def test_garbage_is_reported_with_its_origin(garbage: str) -> None:
    with pytest.raises(ExpositionInvalid, match=r"http://p:4191/metrics: not Prometheus exposition"):
        parse_exposition(garbage, "http://p:4191/metrics")
