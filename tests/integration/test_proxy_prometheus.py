"""A real Prometheus scrapes a meshfleet proxy pair under load.

The backend answers every request after a fixed delay, so every latency the
proxies record falls in one bucket of ``response_latency_ms``. PromQL's
``histogram_quantile`` over the scraped buckets must land in that bucket for
both directions, and the request counters Prometheus stored must equal the
number of requests the client made.
"""

from __future__ import annotations

import json
import shutil
import statistics
import subprocess
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.client import HTTPConnection
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from bench.proxy.pair import AUTHORITY, MeshfleetPair, start_meshfleet_pair
from bench.proxy.procs import ProcessSet, free_port

PROMETHEUS = "/usr/bin/prometheus"
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which(PROMETHEUS) is None, reason=f"{PROMETHEUS} is missing (Debian package prometheus)"),
]

BACKEND_DELAY = 0.120  # seconds: inside the (100, 200] ms bucket, with room for the proxies' own time
BUCKET = (100.0, 200.0)
CLIENTS = 4


class _SlowBackend(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # head and body go out in two writes; no delayed-ACK stall between them

    def do_GET(self) -> None:  # noqa: N802
        time.sleep(BACKEND_DELAY)
        body = b"slow hello\n"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass


@dataclass
class _Load:
    """Keep-alive clients calling through proxy A until stopped; counts what they got back."""

    port: int
    stop: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)
    statuses: list[int] = field(default_factory=list)
    latencies_ms: list[float] = field(default_factory=list)
    threads: list[threading.Thread] = field(default_factory=list)

    def _client(self) -> None:
        conn = HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            while not self.stop.is_set():
                started = time.perf_counter()
                conn.request("GET", "/slow", headers={"Host": AUTHORITY})
                resp = conn.getresponse()
                resp.read()
                with self.lock:
                    self.statuses.append(resp.status)
                    self.latencies_ms.append((time.perf_counter() - started) * 1000)
        finally:
            conn.close()

    def __enter__(self) -> _Load:
        for _ in range(CLIENTS):
            t = threading.Thread(target=self._client, daemon=True)
            t.start()
            self.threads.append(t)
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(timeout=15)


def _query(base: str, promql: str) -> list[dict[str, Any]]:
    url = f"{base}/api/v1/query?" + urllib.parse.urlencode({"query": promql})
    with urllib.request.urlopen(url, timeout=5) as resp:  # noqa: S310 - loopback only
        doc = json.load(resp)
    assert doc["status"] == "success", doc
    result: list[dict[str, Any]] = doc["data"]["result"]
    return result


def _scalar(base: str, promql: str) -> float:
    (item,) = _query(base, promql)
    return float(item["value"][1])


def _wait_for(what: str, check: Any, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if check():
                return
        except (OSError, ValueError, KeyError, AssertionError):
            pass
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.5)


@pytest.fixture
def backend() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _SlowBackend)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture
def pair(tmp_path: Path, backend: int) -> Iterator[MeshfleetPair]:
    with ProcessSet(tmp_path) as procs:
        yield start_meshfleet_pair(procs, tmp_path, backend)


@pytest.fixture
def prometheus(tmp_path: Path, pair: MeshfleetPair) -> Iterator[str]:
    port = free_port()
    config = tmp_path / "prometheus.yml"
    config.write_text(
        "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
        "scrape_configs:\n"
        "  - job_name: proxies\n"
        f"    static_configs: [{{targets: ['127.0.0.1:{pair.client_admin_port}', "
        f"'127.0.0.1:{pair.server_admin_port}']}}]\n"
    )
    proc = subprocess.Popen(
        [
            PROMETHEUS,
            f"--config.file={config}",
            f"--storage.tsdb.path={tmp_path / 'prometheus-data'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_for("both proxies to be scraped", lambda: _scalar(base, 'count(up{job="proxies"} == 1)') == 2)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _quantile(base: str, q: float, direction: str) -> float:
    return _scalar(
        base,
        f'histogram_quantile({q}, sum by (le) (rate(response_latency_ms_bucket{{direction="{direction}"}}[10s])))',
    )


def test_histogram_quantile_lands_in_the_backend_latency_bucket(prometheus: str, pair: MeshfleetPair) -> None:
    low, high = BUCKET
    with _Load(pair.outbound_port) as load:
        # rate() over 10 s needs a few scrapes taken while the load ran.
        _wait_for(
            "scrapes under load",
            lambda: _scalar(prometheus, 'min(count_over_time(request_total{direction="outbound"}[10s]))') >= 6,
        )
        quantiles = {
            (direction, q): _quantile(prometheus, q, direction)
            for direction in ("outbound", "inbound")
            for q in (0.5, 0.99)
        }
    assert load.statuses, "the client made no request"
    assert set(load.statuses) == {200}
    # What the client itself measured falls in the same bucket as the proxies' histograms.
    assert low < statistics.median(load.latencies_ms) <= high
    for (direction, q), value in quantiles.items():
        assert low < value <= high, f"{direction} p{q * 100:g} = {value} ms, expected within {BUCKET}"

    sent = len(load.statuses)
    # Once Prometheus has scraped after the last request, its counters equal what the client made,
    # with the peers' identities on both sides of the mTLS hop.
    outbound = (
        f'sum(request_total{{direction="outbound",tls="true",server_id="{pair.server_identity}",'
        'dst_namespace="bench",dst_service="web"})'
    )
    inbound = f'sum(request_total{{direction="inbound",tls="true",client_id="{pair.client_identity}"}})'
    latency_count = 'sum(response_latency_ms_count{direction="outbound"})'
    # The two proxies are scraped at different moments: wait until both scrapes follow the last request.
    counters: dict[str, float] = {}

    def settled() -> bool:
        counters.update({q: _scalar(prometheus, q) for q in (outbound, inbound, latency_count)})
        return all(v == sent for v in counters.values())

    deadline = time.monotonic() + 15
    while not settled() and time.monotonic() < deadline:
        time.sleep(0.5)
    assert counters == dict.fromkeys((outbound, inbound, latency_count), float(sent))
