"""A real Prometheus scrapes an exposition endpoint; ``--once`` must agree with PromQL run directly."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from tui_expo import Traffic, exposition
from tui_fixtures import status_doc

from tui import tui_main
from tui.data import FleetCollector
from tui.status import FleetStatus, parse_status

PROMETHEUS = "/usr/bin/prometheus"
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which(PROMETHEUS) is None,
                       reason=f"{PROMETHEUS} is missing (Debian package prometheus)"),
]


class _Proxy(BaseHTTPRequestHandler):
    """Counters that grow with wall time, as under steady load: api 100/s (90 % ok), cart 50/s."""

    started = time.monotonic()

    def do_GET(self) -> None:  # noqa: N802
        n = int((time.monotonic() - self.started) * 10)  # tenths of a second
        data = exposition([
            Traffic("api", success=9 * n, failure=1 * n, latencies={"5": 5 * n, "20": 4 * n, "100": 1 * n}),
            Traffic("cart", success=5 * n, tls=False, latencies={"2": 5 * n}),
        ]).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass


class _Fixed:
    def __init__(self, status: FleetStatus) -> None:
        self.status = status

    @property
    def origin(self) -> str:
        return "fixed"

    async def fetch(self) -> FleetStatus:
        return self.status


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _query(base: str, promql: str) -> float:
    url = f"{base}/api/v1/query?" + urllib.parse.urlencode({"query": promql})
    with urllib.request.urlopen(url, timeout=5) as resp:  # noqa: S310 - loopback only
        doc = json.load(resp)
    (item,) = doc["data"]["result"]
    return float(item["value"][1])


@pytest.fixture
def prometheus(tmp_path: Path) -> Iterator[str]:
    _Proxy.started = time.monotonic()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Proxy)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    port = _free_port()
    config = tmp_path / "prometheus.yml"
    config.write_text(
        "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
        "scrape_configs:\n"
        "  - job_name: proxies\n"
        f"    static_configs: [{{targets: ['127.0.0.1:{server.server_address[1]}']}}]\n")
    proc = subprocess.Popen(
        [PROMETHEUS, f"--config.file={config}", f"--storage.tsdb.path={tmp_path / 'data'}",
         f"--web.listen-address=127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:  # wait until rate() over 1m has at least a few samples to work with
            try:
                if _query(base, "count_over_time(request_total{deployment='api'}[1m])") >= 6:
                    break
            except (OSError, ValueError, KeyError):
                pass
            if time.monotonic() > deadline:
                pytest.fail("Prometheus did not collect samples within 60 s")
            time.sleep(0.5)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        server.shutdown()
        server.server_close()
        thread.join()


def test_once_json_matches_promql(prometheus: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    doc = status_doc()
    doc["clusters"] = doc["clusters"][:1]
    doc["clusters"][0]["prometheusURL"] = prometheus
    path = tmp_path / "status.json"
    path.write_text(json.dumps(doc))

    assert tui_main(["--status", str(path), "--once", "--format", "json"]) == 0
    (east,) = json.loads(capsys.readouterr().out)["clusters"]
    inbound = 'direction="inbound"'
    rps = _query(prometheus, f"sum(rate(response_total{{{inbound}}}[1m]))")
    success = _query(prometheus, f'sum(rate(response_total{{{inbound},classification="success"}}[1m]))') / rps
    mtls = (_query(prometheus, f'sum(rate(request_total{{{inbound},tls="true"}}[1m]))')
            / _query(prometheus, f"sum(rate(request_total{{{inbound}}}[1m]))"))
    p99 = _query(prometheus, "histogram_quantile(0.99, sum by (le) "
                             f"(rate(response_latency_ms_bucket{{{inbound}}}[1m])))")
    p50 = _query(prometheus, "histogram_quantile(0.5, sum by (le) "
                             f"(rate(response_latency_ms_bucket{{{inbound}}}[1m])))")

    assert east["metricsError"] is None
    # Tolerance: one scrape (1 s) may land between our queries and the ones above.
    assert east["rps"] == pytest.approx(rps, rel=0.15)
    assert east["successRate"] == pytest.approx(success, rel=0.01)
    assert east["mtls"] == pytest.approx(mtls, rel=0.01)
    assert east["latencyMs"]["p50"] == pytest.approx(p50, rel=0.05)
    assert east["latencyMs"]["p99"] == pytest.approx(p99, rel=0.05)
    # And both agree with the load we generated: 150 responses/s, 140 of them successful.
    assert success == pytest.approx(140 / 150, rel=0.01)


async def test_drill_down_queries_agree_with_promql(prometheus: str) -> None:
    doc = status_doc()
    doc["clusters"] = doc["clusters"][:1]
    doc["clusters"][0]["prometheusURL"] = prometheus
    collector = FleetCollector(_Fixed(parse_status(doc)), time_limit=5)
    try:
        await collector.refresh()
        workloads = await collector.detail("east")
        one = await collector.detail("east", ("default", "api"))
    finally:
        await collector.aclose()
    assert workloads.error is None
    assert one.error is None
    assert workloads.metrics is not None
    assert one.metrics is not None
    by_name = {w.name: w for w in workloads.metrics.workloads}
    assert set(by_name) == {"api", "cart"}
    sel = 'direction="inbound",deployment="api"'
    rps = _query(prometheus, f"sum(rate(response_total{{{sel}}}[1m]))")
    p99 = _query(prometheus, f"histogram_quantile(0.99, sum by (le) (rate(response_latency_ms_bucket{{{sel}}}[1m])))")
    api = by_name["api"].inbound
    assert api.rps == pytest.approx(rps, rel=0.15)
    assert api.success_rate == pytest.approx(0.9, rel=0.01)
    assert api.p99_ms == pytest.approx(p99, rel=0.05)
    assert by_name["cart"].inbound.mtls == 0.0  # cart's callers are plain text
    detail = one.metrics.workload("default", "api")
    assert detail is not None
    assert detail.inbound.p99_ms == pytest.approx(p99, rel=0.05)
    assert [name for name, _ in detail.callers] == ["web.default.serviceaccount.identity.meshfleet.cluster.local"]
    (endpoint,) = (name for name, _ in detail.endpoints)  # Prometheus's instance label: the one target
    assert endpoint.startswith("127.0.0.1:")
