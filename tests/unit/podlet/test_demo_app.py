import random

import aiohttp
import pytest

from mesh.demo import DemoConfigError, Latency, Stats, parse_args, parse_latency
from mesh.demo._app import DemoServer, start_server


def test_latency_distributions_parse_and_sample_within_bounds() -> None:
    rng = random.Random(7)
    assert parse_latency("fixed:20").sample_ms(rng) == 20
    uni = parse_latency("uniform:5-50")
    assert all(5 <= uni.sample_ms(rng) <= 50 for _ in range(200))
    assert all(parse_latency("normal:30,10").sample_ms(rng) >= 0 for _ in range(200))
    mean = sum(parse_latency("exp:25").sample_ms(rng) for _ in range(4000)) / 4000
    assert 20 < mean < 30
    for bad, why in (("gauss:3", "kind"), ("uniform:9-1", "upper bound"), ("fixed:x", "not a distribution"),
                     ("fixed:-1", "negative")):
        with pytest.raises(DemoConfigError, match=why):
            parse_latency(bad)


def test_flags() -> None:
    cfg = parse_args(["--name", "api", "--port", "9000", "--latency", "uniform:1-2", "--error-rate", "0.25",
                      "--downstream", "http://backend/", "--downstream", "http://cache/"])
    assert (cfg.name, cfg.port, cfg.error_rate) == ("api", 9000, 0.25)
    assert cfg.latency == Latency("uniform", 1, 2)
    assert cfg.downstream == ("http://backend/", "http://cache/")
    with pytest.raises(SystemExit):
        parse_args(["--error-rate", "2"])


def test_stats_quantiles() -> None:
    s = Stats()
    for i in range(1, 101):
        s.record(200 if i % 10 else 500, float(i))
    snap = s.snapshot()
    assert snap["requests"] == 100
    assert snap["byStatus"] == {"200": 90, "500": 10}
    assert snap["latencyMs"] == {"p50": 50.0, "p90": 90.0, "p99": 99.0}


async def _serve(args: list[str], seed: int = 1) -> tuple[DemoServer, str]:
    server = await start_server(parse_args(["--host", "127.0.0.1", "--port", "0", *args]), random.Random(seed))
    return server, f"http://127.0.0.1:{server.port}"


async def test_a_call_chain_of_three_tiers_from_one_app() -> None:
    backend, b_url = await _serve(["--name", "backend"])
    api, a_url = await _serve(["--name", "api", "--downstream", b_url + "/"])
    web_, w_url = await _serve(["--name", "web", "--downstream", a_url + "/"])
    try:
        async with aiohttp.ClientSession() as s:
            async with s.get(w_url + "/") as r:
                body = await r.json()
            assert r.status == 200
            assert body["service"] == "web"
            assert body["downstream"][0]["service"] == "api"
            assert body["downstream"][0]["downstream"][0]["service"] == "backend"
            async with s.get(a_url + "/stats") as r:
                assert (await r.json())["requests"] == 1
    finally:
        for r in (web_, api, backend):
            await r.close()


async def test_errors_downstream_failures_and_health_toggle() -> None:
    failing, f_url = await _serve(["--name", "f", "--error-rate", "1"])
    caller, c_url = await _serve(["--name", "c", "--downstream", f_url + "/"])
    try:
        async with aiohttp.ClientSession() as s:
            async with s.get(f_url + "/") as r:
                assert r.status == 500
            async with s.get(c_url + "/") as r:
                assert r.status == 502
            async with s.get(c_url + "/healthz") as r:
                assert r.status == 200
            async with s.post(c_url + "/healthz?healthy=false") as r:
                assert r.status == 503
            async with s.get(c_url + "/healthz") as r:
                assert r.status == 503
            async with s.post(c_url + "/healthz?healthy=true") as r:
                assert r.status == 200
    finally:
        await caller.close()
        await failing.close()


async def _raw(url: str, data: bytes) -> bytes:
    import asyncio

    host, port = url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(data)
    await writer.drain()
    out = await asyncio.wait_for(reader.read(), 5)  # until the server closes
    writer.close()
    return out


async def test_keep_alive_pipelining_head_and_the_answers_to_wrong_requests() -> None:
    server, url = await _serve(["--name", "solo"])
    try:
        # Two requests on one connection, sent at once; the second asks to close it.
        both = await _raw(url, b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
                               b"GET /stats HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        first, second = both.split(b"HTTP/1.1 ")[1:]
        assert first.startswith(b"200 OK")
        assert b"Connection: keep-alive" in first
        assert first.endswith(b"\r\n\r\nok\n")
        assert second.startswith(b"200 OK")
        assert b'"service": "solo"' in second
        head = await _raw(url, b"HEAD / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200 OK")
        assert head.endswith(b"\r\n\r\n")
        assert int(head.split(b"Content-Length: ")[1].split(b"\r\n")[0]) > 0
        async with aiohttp.ClientSession() as s:
            async with s.get(url + "/nowhere") as r:
                assert r.status == 404
            async with s.delete(url + "/") as r:
                assert r.status == 405
        assert (await _raw(url, b"NOT HTTP AT ALL\r\n\r\n")).startswith(b"HTTP/1.1 400 ")
    finally:
        await server.close()


async def test_downstream_answers_in_chunks_or_until_close_and_broken_ones_are_reported() -> None:
    import asyncio
    import json

    async def odd_server(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        request = await reader.readuntil(b"\r\n\r\n")
        body = json.dumps({"service": "odd"}).encode()
        if request.startswith(b"GET /chunked "):
            writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                         + f"{len(body):x}\r\n".encode() + body + b"\r\n0\r\n\r\n")
        elif request.startswith(b"GET /untilclose "):
            writer.write(b"HTTP/1.0 200 OK\r\n\r\n" + body)
        else:  # promises more than it sends
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 999\r\n\r\n" + body)
        await writer.drain()
        writer.close()

    odd = await asyncio.start_server(odd_server, "127.0.0.1", 0)
    base = f"http://127.0.0.1:{odd.sockets[0].getsockname()[1]}"
    caller, c_url = await _serve(["--name", "c", "--downstream", base + "/chunked", "--downstream",
                                  base + "/untilclose", "--downstream", base + "/short",
                                  "--downstream", "https://127.0.0.1:1/"])
    try:
        async with aiohttp.ClientSession() as s, s.get(c_url + "/") as r:
            body = await r.json()
        assert r.status == 502
        chunked, until_close, short, tls = body["downstream"]
        assert chunked == {"service": "odd"}
        assert until_close == {"service": "odd"}
        assert "middle of a response" in short["error"]
        assert "http://" in tls["error"]
    finally:
        await caller.close()
        odd.close()
        await odd.wait_closed()


async def test_check_exits_0_only_while_the_url_answers_200() -> None:
    import asyncio
    import subprocess
    import sys

    server, url = await _serve(["--name", "probed"])

    async def check() -> int:
        proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "fleet.cli", "demo-app", "--check",
                                                    url + "/healthz", stdout=subprocess.DEVNULL)
        return await proc.wait()
    try:
        assert await check() == 0
        async with aiohttp.ClientSession() as s, s.post(url + "/healthz?healthy=false") as r:
            assert r.status == 503
        assert await check() == 1
    finally:
        await server.close()
    assert await check() == 1  # nothing listens any more


async def test_trace_context_is_handed_on_to_every_downstream_call() -> None:
    from aiohttp import web

    seen: list[tuple[str | None, str | None]] = []

    async def record(request: web.Request) -> web.Response:
        seen.append((request.headers.get("traceparent"), request.headers.get("tracestate")))
        return web.json_response({"service": "leaf"})

    app = web.Application()
    app.router.add_get("/", record)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    leaf = f"http://127.0.0.1:{runner.addresses[0][1]}/"
    caller, c_url = await _serve(["--name", "c", "--downstream", leaf, "--downstream", leaf])
    parent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    try:
        async with aiohttp.ClientSession() as s:
            async with s.get(c_url + "/", headers={"traceparent": parent, "tracestate": "a=1"}) as r:
                assert r.status == 200
            async with s.get(c_url + "/") as r:
                assert r.status == 200
    finally:
        await caller.close()
        await runner.cleanup()
    assert seen == [(parent, "a=1"), (parent, "a=1"), (None, None), (None, None)]
