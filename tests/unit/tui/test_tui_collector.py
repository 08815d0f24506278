"""The data layer keeps a failed cluster's last numbers, with their age, and its error."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tui_expo import Traffic, exposition

from tui.data import FleetCollector


class _Proxy(BaseHTTPRequestHandler):
    n = 0

    def do_GET(self) -> None:  # noqa: N802
        type(self).n += 1
        data = exposition([Traffic("api", success=10 * self.n)]).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass


async def test_dead_proxy_keeps_last_data_with_age() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Proxy)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}/metrics"
    now = [100.0]
    collector = FleetCollector(None, {"east": [url]}, time_limit=1.0, clock=lambda: now[0])
    try:
        first = (await collector.refresh()).clusters[0]
        assert first.metrics is None  # one scrape gives no rate yet
        now[0] += 2.0
        second = (await collector.refresh()).clusters[0]
        assert second.metrics is not None
        assert second.metrics.rps == 5.0  # 10 more responses over 2 s
        server.shutdown()  # the proxy dies
        server.server_close()
        now[0] += 30.0
        third = (await collector.refresh()).clusters[0]
    finally:
        server.shutdown()  # returns at once if already shut down
        server.server_close()
        thread.join()
        await collector.aclose()
    assert third.metrics_error is not None
    assert url in third.metrics_error
    assert third.metrics is second.metrics
    assert third.metrics_age_s == 30.0
    assert third.rps_history == (5.0,)
