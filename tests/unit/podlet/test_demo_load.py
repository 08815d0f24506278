"""demo-app --load: a steady open-loop request rate to its downstreams, for dashboards with something to show."""

import asyncio

import pytest
from aiohttp import web

from mesh.demo import DemoConfigError, parse_args
from mesh.demo._app import serve


async def test_load_mode_sends_about_the_requested_rate_to_every_downstream() -> None:
    hits: list[str] = []

    async def count(request: web.Request) -> web.Response:
        hits.append(request.path)
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_get("/{tail:.*}", count)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        cfg = parse_args(["--host", "127.0.0.1", "--port", "0", "--load", "40",
                          "--downstream", f"http://127.0.0.1:{port}/a", "--downstream", f"http://127.0.0.1:{port}/b"])
        stop = asyncio.Event()
        task = asyncio.ensure_future(serve(cfg, stop))
        await asyncio.sleep(1.5)
        stop.set()
        await task
    finally:
        await runner.cleanup()
    # 40 per second to each of two downstreams for about 1.5 s (start-up eats a little of it).
    assert 40 <= hits.count("/a") <= 66
    assert abs(hits.count("/a") - hits.count("/b")) <= 2


def test_load_needs_a_downstream_and_a_sane_rate() -> None:
    with pytest.raises(DemoConfigError, match="--downstream"):
        parse_args(["--load", "5"])
    with pytest.raises(DemoConfigError, match="from 0 to 10000"):
        parse_args(["--load", "-1", "--downstream", "http://x/"])


async def test_the_load_generator_starts_sampled_traces_on_the_share_asked_for() -> None:
    from mesh.proxy.tracing import parse_traceparent

    contexts: list[str | None] = []

    async def record(request: web.Request) -> web.Response:
        contexts.append(request.headers.get("traceparent"))
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_get("/", record)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        cfg = parse_args(["--host", "127.0.0.1", "--port", "0", "--load", "100", "--trace-sample", "0.5",
                          "--downstream", f"http://127.0.0.1:{runner.addresses[0][1]}/"])
        stop = asyncio.Event()
        task = asyncio.ensure_future(serve(cfg, stop))
        await asyncio.sleep(1.0)
        stop.set()
        await task
    finally:
        await runner.cleanup()
    traced = [parse_traceparent(c.encode()) for c in contexts if c is not None]
    assert all(t is not None and t.sampled for t in traced)
    assert len({t.trace_id for t in traced if t is not None}) == len(traced)  # one new trace per call
    assert 0.3 * len(contexts) <= len(traced) <= 0.7 * len(contexts)
    with pytest.raises(SystemExit):
        parse_args(["--trace-sample", "2"])
