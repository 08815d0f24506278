"""``meshfleet tui --once`` against a status file and real HTTP endpoints on 127.0.0.1."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from tui_expo import Traffic, exposition
from tui_fixtures import status_doc

from tui import tui_main


class _Proxies(BaseHTTPRequestHandler):
    """Two proxies whose counters grow by a fixed amount per scrape, and one that talks nonsense.

    Both proxies serve the same mix, so the expected ratios do not depend on how far apart in
    time each proxy's two scrapes happened to be.
    """

    scrapes: dict[str, int] = {}

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        n = self.scrapes[self.path] = self.scrapes.get(self.path, 0) + 1
        if self.path in ("/a/metrics", "/b/metrics"):
            body = exposition([
                Traffic("api", success=90 * n, failure=10 * n, latencies={"5": 50 * n, "20": 50 * n}),
                Traffic("cart", success=100 * n, tls=False, latencies={"5": 100 * n}),
            ])
        elif self.path == "/garbage/metrics":
            body = "<html><body>upstream connect error</body></html>"
        else:
            self.send_error(404)
            return
        data = body.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - inherited signature
        pass


@pytest.fixture
def proxies() -> Iterator[str]:
    _Proxies.scrapes = {}
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Proxies)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def dead_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"  # nothing listens here any more


@pytest.fixture
def status_file(tmp_path: Path, proxies: str) -> Path:
    doc = status_doc()
    east, west, north = doc["clusters"]
    east["proxyMetricsURLs"] = [f"{proxies}/a/metrics", f"{proxies}/b/metrics"]
    west["proxyMetricsURLs"] = [f"{proxies}/garbage/metrics"]
    north["prometheusURL"] = dead_url()
    path = tmp_path / "fleet-status.json"
    path.write_text(json.dumps(doc))
    return path


def run_json(argv: list[str], capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    assert tui_main([*argv, "--once", "--format", "json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_golden_signals_from_scraped_proxies_while_others_fail(
        status_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    started = time.monotonic()
    out = run_json(["--status", str(status_file), "--refresh", "0.3"], capsys)
    elapsed = time.monotonic() - started
    clusters = {c["name"]: c for c in out["clusters"]}

    east = clusters["east"]
    assert east["metricsError"] is None
    # Between the two scrapes each proxy served api 90 ok + 10 failed (mTLS), cart 100 ok (plain).
    assert east["successRate"] == pytest.approx(190 / 200)
    assert east["mtls"] == pytest.approx(100 / 200)  # only api's callers used mTLS
    # 150 observations <= 5 ms (none <= 4), 50 in (10, 20]:
    assert east["latencyMs"]["p50"] == pytest.approx(4 + 1 * 100 / 150)
    assert east["latencyMs"]["p95"] == pytest.approx(10 + 10 * 40 / 50)
    assert east["latencyMs"]["p99"] == pytest.approx(10 + 10 * 48 / 50)
    # 2 x 200 responses over a window of at least the 0.3 s gap (plus scheduling).
    assert 400 / (0.3 + elapsed) < east["rps"] <= 400 / 0.3

    west = clusters["west"]
    assert "garbage/metrics: not Prometheus exposition text" in west["metricsError"]
    assert west["rps"] is None

    north = clusters["north"]
    assert north["metricsError"].startswith("http://127.0.0.1:")
    assert north["metricsSource"] == "prometheus"
    assert any(p.startswith("reach") for p in north["problems"])
    assert elapsed < 5, "a dead cluster must not hold up the others"


def test_cluster_metrics_flag_scrapes_without_a_status_document(
        proxies: str, capsys: pytest.CaptureFixture[str]) -> None:
    out = run_json(["--cluster-metrics", f"solo={proxies}/a/metrics", "--refresh", "0.2"], capsys)
    (solo,) = out["clusters"]
    assert solo["name"] == "solo"
    assert solo["successRate"] == pytest.approx(0.95)
    assert solo["state"] is None  # no status document, so nothing about reconciliation


def test_table_format_marks_problems_with_symbols(status_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert tui_main(["--status", str(status_file), "--once", "--refresh", "0.2"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].split()[:3] == ["CLUSTER", "REACH", "STATE"]
    rows = {line.split()[0]: line for line in lines[2:]}
    assert set(rows) == {"east", "west", "north"}
    assert "✗ no" in rows["north"]
    assert "✗ Unreachable" in rows["north"]
    assert "95.00%" in rows["east"]
    assert "✗" not in rows["east"]


def test_missing_status_file_is_reported(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = tui_main(["--status", str(tmp_path / "nope.json"), "--once", "--format", "json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 1
    assert out["statusError"].endswith("nope.json: No such file or directory")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--once"], "--status or --cluster-metrics"),
        (["--cluster-metrics", "east"], "--cluster-metrics 'east'"),
        (["--status", "x.json", "--refresh", "0"], "--refresh"),
    ],
)
def test_bad_flags_name_the_flag(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert tui_main(argv) == 2
    assert message in capsys.readouterr().err
