"""A sampled request through a proxy pair leaves a parent-child chain of spans at an OTLP collector."""

from __future__ import annotations

import asyncio
import contextlib
import http.client
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from aiohttp import web

from .conftest import Pki
from .harness import Backend, metric_value, ok_behaviour, running, scrape, web_service, write_services

TRACE = "0af7651916cd43dd8448eb211c80319c"
APP_SPAN = "b7ad6b7169203331"


class Collector:
    """Takes OTLP/HTTP JSON exports the way an OpenTelemetry collector does; can be told to refuse them."""

    def __init__(self) -> None:
        self.spans: list[dict[str, Any]] = []
        self.resources: list[dict[str, str]] = []
        self.status = 200
        self.port = 0
        self._arrived = asyncio.Event()

    async def _export(self, request: web.Request) -> web.Response:
        assert request.content_type == "application/json"
        if self.status != 200:
            return web.Response(status=self.status)
        body = await request.json()
        for rs in body["resourceSpans"]:
            attrs = {a["key"]: a["value"]["stringValue"] for a in rs["resource"]["attributes"]}
            for scope in rs["scopeSpans"]:
                for span in scope["spans"]:
                    self.spans.append(span)
                    self.resources.append(attrs)
        self._arrived.set()
        return web.json_response({})

    @contextlib.asynccontextmanager
    async def serving(self) -> AsyncIterator[Collector]:
        app = web.Application()
        app.add_routes([web.post("/v1/traces", self._export)])
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        self.port = runner.addresses[0][1]
        try:
            yield self
        finally:
            await runner.cleanup()

    async def wait_for(self, count: int) -> list[dict[str, Any]]:
        async with asyncio.timeout(10):
            while len(self.spans) < count:
                self._arrived.clear()
                await self._arrived.wait()
        return self.spans


def _get(port: int, headers: dict[str, str]) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", "/orders", headers={"Host": "web.shop.svc.cluster.local:8080", **headers})
        resp = conn.getresponse()
        resp.read()
        return resp.status
    finally:
        conn.close()


def _attrs(span: dict[str, Any]) -> dict[str, str]:
    return {a["key"]: next(iter(a["value"].values())) for a in span["attributes"]}


async def test_spans_chain_from_the_caller_through_both_proxies_to_the_application(pki: Pki, tmp_path: Path) -> None:
    backend = await Backend(ok_behaviour).start()
    async with Collector().serving() as collector:
        trace = {"trace_collector": ("127.0.0.1", collector.port)}
        async with running(pki.server, None, tmp_path, **trace) as server:
            endpoint = {
                "address": f"127.0.0.1:{backend.port}",
                "identity": pki.server.name,
                "proxy_port": server.address("inbound")[1],
            }
            services = write_services(tmp_path / "svc.json", [web_service([endpoint])])
            async with running(pki.client, services, tmp_path, **trace) as client:
                out = client.address("outbound")[1]
                sampled = {"traceparent": f"00-{TRACE}-{APP_SPAN}-01", "tracestate": "vendor=x"}
                assert await asyncio.to_thread(_get, out, sampled) == 200
                spans = await collector.wait_for(2)
                # Not sampled, or no context at all: forwarded as they came, no span.
                unsampled = f"00-{TRACE}-{APP_SPAN}-00"
                assert await asyncio.to_thread(_get, out, {"traceparent": unsampled}) == 200
                assert await asyncio.to_thread(_get, out, {}) == 200
                await asyncio.sleep(1.5)  # one export interval: anything recorded would have arrived
                client_metrics = await scrape(client)
    await backend.stop()

    assert len(spans) == 2
    by_kind = {s["kind"]: s for s in spans}
    outbound, inbound = by_kind[3], by_kind[2]
    assert outbound["traceId"] == inbound["traceId"] == TRACE
    assert outbound["parentSpanId"] == APP_SPAN  # the caller's span
    assert inbound["parentSpanId"] == outbound["spanId"]
    # The application sees the server-side proxy's span as its parent, and the trace state untouched.
    seen = backend.seen_headers
    assert seen[0]["traceparent"] == f"00-{TRACE}-{inbound['spanId']}-01"
    assert seen[0]["tracestate"] == "vendor=x"
    assert seen[1]["traceparent"] == unsampled
    assert "traceparent" not in seen[2]
    assert _attrs(outbound)["meshfleet.server_id"] == pki.server.name
    assert _attrs(inbound)["meshfleet.client_id"] == pki.client.name
    assert _attrs(outbound)["http.response.status_code"] == "200"
    assert int(outbound["startTimeUnixNano"]) <= int(inbound["startTimeUnixNano"])
    assert int(inbound["endTimeUnixNano"]) <= int(outbound["endTimeUnixNano"])
    resources = {r["service.name"] for r in collector.resources}
    assert resources == {pki.client.name, pki.server.name}
    assert metric_value(client_metrics, "trace_spans_exported_total") == 1


async def test_a_failed_request_is_an_error_span_and_a_refused_export_is_counted(pki: Pki, tmp_path: Path) -> None:
    async with Collector().serving() as collector:
        # The one endpoint listens nowhere: the proxy answers 502 itself.
        services = write_services(tmp_path / "svc.json", [web_service([{"address": "127.0.0.1:9"}])])
        async with running(pki.client, services, tmp_path, trace_collector=("127.0.0.1", collector.port)) as client:
            out = client.address("outbound")[1]
            header = {"traceparent": f"00-{TRACE}-{APP_SPAN}-01"}
            assert await asyncio.to_thread(_get, out, header) == 502
            (failed,) = await collector.wait_for(1)
            collector.status = 503
            assert await asyncio.to_thread(_get, out, header) == 502
            await asyncio.sleep(1.5)
            text = await scrape(client)
    assert failed["status"]["code"] == 2
    assert failed["status"]["message"] == "connect failed"
    assert _attrs(failed)["http.response.status_code"] == "502"
    assert metric_value(text, "trace_spans_dropped_total", reason="export_failed") == 1
