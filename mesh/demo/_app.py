"""The demo app's HTTP shell (aiohttp; this is a workload, not the proxy).

Routes:
  ``GET /``          waits the configured latency, calls each downstream, then
                     answers 200 with JSON naming this service and the chain
                     below it, 500 at the configured error rate, 502 when a
                     downstream failed.
  ``GET /healthz``   200 while healthy, 503 after ``POST /healthz?healthy=false``
                     (so tests can make a readiness probe fail and recover).
  ``GET /stats``     the request counters as JSON.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import socket
import time

import aiohttp
from aiohttp import web

from mesh.demo._config import DemoConfig
from mesh.demo._stats import Stats

_STATS: web.AppKey[Stats] = web.AppKey("stats", Stats)
_CONFIG: web.AppKey[DemoConfig] = web.AppKey("config", DemoConfig)
_HEALTHY: web.AppKey[list[bool]] = web.AppKey("healthy", list)
_SESSION: web.AppKey[aiohttp.ClientSession] = web.AppKey("session", aiohttp.ClientSession)
_RNG: web.AppKey[random.Random] = web.AppKey("rng", random.Random)


async def _root(request: web.Request) -> web.Response:
    app = request.app
    cfg, stats, rng = app[_CONFIG], app[_STATS], app[_RNG]
    t0 = time.monotonic()
    await asyncio.sleep(cfg.latency.sample_ms(rng) / 1000.0)
    chain: list[object] = []
    status = 200
    for url in cfg.downstream:
        try:
            timeout = aiohttp.ClientTimeout(total=cfg.downstream_timeout)
            async with app[_SESSION].get(url, timeout=timeout) as resp:
                body = await resp.json(content_type=None) if resp.status == 200 else {"status": resp.status}
                chain.append(body)
                if resp.status != 200:
                    status = 502
        except (aiohttp.ClientError, TimeoutError, ValueError) as e:
            chain.append({"url": url, "error": str(e) or type(e).__name__})
            status = 502
    if status == 502:
        stats.downstream_failures += 1
    elif rng.random() < cfg.error_rate:
        status = 500
    stats.record(status, (time.monotonic() - t0) * 1000.0)
    return web.json_response({"service": cfg.name, "host": socket.gethostname(), "status": status,
                              "downstream": chain}, status=status)


async def _healthz(request: web.Request) -> web.Response:
    healthy = request.app[_HEALTHY]
    if request.method == "POST":
        healthy[0] = request.query.get("healthy", "true").lower() in ("1", "true", "yes")
    return web.Response(text="ok\n" if healthy[0] else "unhealthy\n", status=200 if healthy[0] else 503)


async def _stats(request: web.Request) -> web.Response:
    return web.json_response({"service": request.app[_CONFIG].name, **request.app[_STATS].snapshot()})


def make_app(cfg: DemoConfig, rng: random.Random | None = None) -> web.Application:
    app = web.Application()
    app[_CONFIG] = cfg
    app[_STATS] = Stats()
    app[_HEALTHY] = [True]
    app[_RNG] = rng or random.Random()

    async def session_ctx(app: web.Application):  # type: ignore[no-untyped-def]
        async with aiohttp.ClientSession() as session:
            app[_SESSION] = session
            yield

    app.cleanup_ctx.append(session_ctx)
    app.router.add_get("/", _root)
    app.router.add_route("*", "/healthz", _healthz)
    app.router.add_get("/stats", _stats)
    return app


def _announce(path: str, name: str) -> None:
    with open(path, "a") as f:
        f.write(f"{name} {time.time_ns()}\n")


async def _generate_load(cfg: DemoConfig, stats: Stats) -> None:
    """Call every downstream ``load_rps`` times a second, open loop: a slow answer never delays the next call."""
    timeout = aiohttp.ClientTimeout(total=cfg.downstream_timeout)
    in_flight: set[asyncio.Task[None]] = set()
    limit = max(1, int(cfg.load_rps * cfg.downstream_timeout))  # never more than one timeout's worth pending

    async def one(session: aiohttp.ClientSession, url: str) -> None:
        t0 = time.monotonic()
        try:
            async with session.get(url, timeout=timeout) as resp:
                await resp.read()
                status = resp.status
        except (aiohttp.ClientError, TimeoutError):
            status = 599  # no answer at all: counted apart from the statuses a server sends
        stats.record(status, (time.monotonic() - t0) * 1000.0)

    loop = asyncio.get_running_loop()
    async with aiohttp.ClientSession() as session:
        next_at = loop.time()
        while True:
            for url in cfg.downstream:
                if len(in_flight) < limit:
                    task = asyncio.ensure_future(one(session, url))
                    in_flight.add(task)
                    task.add_done_callback(in_flight.discard)
            next_at += 1.0 / cfg.load_rps
            await asyncio.sleep(max(0.0, next_at - loop.time()))


async def serve(cfg: DemoConfig, stop: asyncio.Event) -> None:
    app = make_app(cfg)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    load: asyncio.Task[None] | None = None
    try:
        await web.TCPSite(runner, cfg.host, cfg.port).start()
        print(f"demo-app {cfg.name}: listening on {cfg.host}:{cfg.port}", flush=True)
        if cfg.announce:
            await asyncio.to_thread(_announce, cfg.announce, cfg.name)
        if cfg.load_rps > 0:
            load = asyncio.ensure_future(_generate_load(cfg, app[_STATS]))
        if cfg.run_for is None:
            await stop.wait()
            # Clients learn of our going only once the endpoint is withdrawn; answer them until then.
            await asyncio.sleep(cfg.shutdown_delay)
        else:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), cfg.run_for)
    finally:
        if load is not None:
            load.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await load
        await runner.cleanup()
