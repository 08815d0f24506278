"""Whole answers over real HTTP on 127.0.0.1, however large, and what each screen asks Prometheus."""

from __future__ import annotations

import json
import threading
import urllib.parse
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import aiohttp
import pytest
from tui_expo import Traffic, exposition

from tui.data import FleetCollector
from tui.errors import EndpointUnreachable
from tui.metrics import RateQuery, overview_query, rate_queries, workloads_query
from tui.metrics.fetch import prometheus_rates, scrape
from tui.metrics.promql import TAG
from tui.status import parse_status
from tui.status.model import FleetStatus

WORKLOADS = 2000  # big enough for multi-megabyte answers


def vector(series: list[tuple[dict[str, str], float]]) -> bytes:
    return json.dumps({"status": "success", "data": {"resultType": "vector", "result": [
        {"metric": m, "value": [1.0, repr(v)]} for m, v in series]}}).encode()


def big_breakdown() -> bytes:
    """A full-breakdown answer, one series per workload and latency bound: several megabytes."""
    return vector([({"direction": "inbound", "namespace": "shop", "deployment": f"app-{w:04d}",
                     "pod": f"app-{w:04d}-6f9c8b7d4-x{w:04d}", "le": le,
                     "client_id": "web.shop.serviceaccount.identity.meshfleet.cluster.local"}, 1.0)
                   for w in range(WORKLOADS) for le in ("1", "5", "10", "50", "100", "+Inf")])


class _Server(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    bodies: ClassVar[dict[str, bytes]] = {}
    queries: ClassVar[list[tuple[str, str]]] = []
    chunked: ClassVar[bool] = False

    def do_GET(self) -> None:  # noqa: N802
        url = urllib.parse.urlsplit(self.path)
        query = urllib.parse.parse_qs(url.query).get("query", [""])[0]
        type(self).queries.append((url.path, query))
        body = self.bodies.get(url.path)
        if body is None:
            body = self.bodies.get(f"{url.path}?{query}", b"")
        try:
            self._answer(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up on purpose (an answer over its size limit)

    def _answer(self, body: bytes) -> None:
        self.send_response(200)
        if self.chunked:
            # No length up front: the client has to read to the end of the chunks.
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for i in range(0, len(body), 100_000):
                piece = body[i:i + 100_000]
                self.wfile.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
            self.wfile.write(b"0\r\n\r\n")
        else:
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass


@pytest.fixture
def server() -> Iterator[str]:
    _Server.bodies, _Server.queries, _Server.chunked = {}, [], False
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Server)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


@pytest.mark.parametrize("chunked", [False, True])
async def test_a_multi_megabyte_prometheus_answer_is_read_whole(server: str, chunked: bool) -> None:
    body = big_breakdown()
    assert len(body) > 2_000_000
    _Server.bodies["/api/v1/query"], _Server.chunked = body, chunked
    query = (RateQuery("response_latency_ms_bucket", "sum by (le) (whatever)"),)
    async with aiohttp.ClientSession() as session:
        rates = await prometheus_rates(session, server, query, time_limit=30)
    assert len(rates) == WORKLOADS * 6
    assert {r.label("deployment") for r in rates} == {f"app-{w:04d}" for w in range(WORKLOADS)}


async def test_a_multi_megabyte_metrics_page_is_read_whole(server: str) -> None:
    # Three megabytes of comments first (cheap to parse), the series last: a body cut short
    # loses them all.
    padding = "".join(f"# {'x' * 99_997}\n" for _ in range(30))
    page = padding + exposition([Traffic(f"app-{w:02d}", success=w, latencies={"5": w}) for w in range(50)])
    assert len(page) > 3_000_000
    _Server.bodies["/metrics"] = page.encode()
    async with aiohttp.ClientSession() as session:
        got = await scrape(session, f"{server}/metrics", time_limit=30)
    responses = [s for s in got.samples if s.name == "response_total"]
    assert len(responses) == 2 * 50
    assert sum(s.value for s in responses) == sum(range(50))


@pytest.mark.parametrize("chunked", [False, True])
async def test_an_answer_over_the_limit_is_refused(server: str, chunked: bool) -> None:
    _Server.bodies["/metrics"], _Server.chunked = b"x" * 500_000, chunked
    async with aiohttp.ClientSession() as session:
        with pytest.raises(EndpointUnreachable, match=r"/metrics: answer larger than 100000 bytes"):
            await scrape(session, f"{server}/metrics", time_limit=30, max_body=100_000)


class _FixedStatus:
    def __init__(self, status: FleetStatus) -> None:
        self.status = status

    @property
    def origin(self) -> str:
        return "fixed"

    async def fetch(self) -> FleetStatus:
        return self.status


def _status(prometheus: dict[str, str]) -> FleetStatus:
    clusters = [{"name": name, "reachable": True, "state": "Ready", "prometheusURL": url}
                for name, url in prometheus.items()]
    return parse_status({"generatedAt": "2026-11-20T11:59:58Z", "clusters": clusters})


async def test_overview_asks_each_cluster_one_small_query_and_drill_down_only_its_cluster(server: str) -> None:
    overview, workloads = overview_query("1m"), workloads_query("1m")
    for name in ("east", "west"):
        _Server.bodies[f"/{name}/api/v1/query?{overview.promql}"] = vector([
            ({TAG: "responses", "classification": "success"}, 90.0 if name == "east" else 10.0),
            ({TAG: "responses", "classification": "failure"}, 10.0)])
    _Server.bodies[f"/east/api/v1/query?{workloads.promql}"] = vector([
        ({TAG: "inbound-responses", "direction": "inbound", "namespace": "shop", "deployment": "api",
          "classification": "success"}, 90.0),
        ({TAG: "inbound-p0.99", "direction": "inbound", "namespace": "shop", "deployment": "api"}, 25.0)])
    collector = FleetCollector(_FixedStatus(_status({"east": f"{server}/east", "west": f"{server}/west"})),
                               time_limit=5)
    try:
        view = await collector.refresh()
        asked = sorted(_Server.queries)
        _Server.queries.clear()
        detail = await collector.detail("east")
        asked_detail = list(_Server.queries)
        _Server.queries.clear()
        await collector.detail("east", ("shop", "api"))
        asked_workload = sorted(_Server.queries)
    finally:
        await collector.aclose()

    assert asked == [("/east/api/v1/query", overview.promql), ("/west/api/v1/query", overview.promql)]
    east, west = view.clusters
    assert east.metrics is not None
    assert west.metrics is not None
    assert (east.metrics.rps, east.metrics.success_rate) == (100.0, 0.9)
    assert west.metrics.success_rate == 0.5
    assert asked_detail == [("/east/api/v1/query", workloads.promql)]
    assert detail.error is None
    assert detail.metrics is not None
    (api,) = detail.metrics.workloads
    assert (api.name, api.inbound.rps, api.inbound.p99_ms) == ("api", 90.0, 25.0)
    assert asked_workload == sorted(("/east/api/v1/query", q.promql) for q in rate_queries("1m", ("shop", "api")))
