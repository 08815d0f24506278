"""The demo app's HTTP shell: asyncio streams with httptools (see mesh.demo._http for why not a framework).

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
import json
import random
import socket
import time

import httptools

from mesh.demo._client import Client
from mesh.demo._config import DemoConfig
from mesh.demo._http import Headers, Request, RequestReader, response
from mesh.demo._stats import Stats
from mesh.demo.errors import DownstreamError

_JSON = "application/json; charset=utf-8"
_TEXT = "text/plain; charset=utf-8"
Answer = tuple[int, bytes, str]  # status, body, content type


class DemoApp:
    """What the app answers; the connections are DemoServer's."""

    def __init__(self, cfg: DemoConfig, rng: random.Random | None = None) -> None:
        self.cfg = cfg
        self.stats = Stats()
        self.healthy = True
        self.rng = rng or random.Random()
        self.client = Client()

    async def handle(self, req: Request) -> Answer:
        reads = req.method in ("GET", "HEAD")
        if req.path == "/healthz":
            return self._healthz(req)
        if req.path == "/" and reads:
            return await self._root(req)
        if req.path == "/stats" and reads:
            return 200, _json({"service": self.cfg.name, **self.stats.snapshot()}), _JSON
        if req.path in ("/", "/stats"):
            return 405, b"method not allowed\n", _TEXT
        return 404, b"not found\n", _TEXT

    def _healthz(self, req: Request) -> Answer:
        if req.method == "POST":
            self.healthy = req.query.get("healthy", "true").lower() in ("1", "true", "yes")
        return (200, b"ok\n", _TEXT) if self.healthy else (503, b"unhealthy\n", _TEXT)

    async def _root(self, req: Request) -> Answer:
        cfg, stats = self.cfg, self.stats
        t0 = time.monotonic()
        await asyncio.sleep(cfg.latency.sample_ms(self.rng) / 1000.0)
        chain: list[object] = []
        status = 200
        for url in cfg.downstream:
            try:
                async with asyncio.timeout(cfg.downstream_timeout):
                    code, body = await self.client.get(url, req.trace)
                chain.append(json.loads(body) if code == 200 else {"status": code})
                if code != 200:
                    status = 502
            except (DownstreamError, OSError, TimeoutError, ValueError) as e:
                chain.append({"url": url, "error": str(e) or type(e).__name__})
                status = 502
        if status == 502:
            stats.downstream_failures += 1
        elif self.rng.random() < cfg.error_rate:
            status = 500
        stats.record(status, (time.monotonic() - t0) * 1000.0)
        return status, _json({"service": cfg.name, "host": socket.gethostname(), "status": status,
                              "downstream": chain}), _JSON

    async def generate_load(self) -> None:
        """Call every downstream ``load_rps`` times a second, open loop: a slow answer never delays the next call."""
        cfg = self.cfg
        in_flight: set[asyncio.Task[None]] = set()
        limit = max(1, int(cfg.load_rps * cfg.downstream_timeout))  # never more than one timeout's worth pending

        async def one(url: str) -> None:
            t0 = time.monotonic()
            trace = _new_trace(self.rng) if cfg.trace_sample and self.rng.random() < cfg.trace_sample else ()
            try:
                async with asyncio.timeout(cfg.downstream_timeout):
                    status, _ = await self.client.get(url, trace)
            except (DownstreamError, OSError, TimeoutError):
                status = 599  # no answer at all: counted apart from the statuses a server sends
            self.stats.record(status, (time.monotonic() - t0) * 1000.0)

        loop = asyncio.get_running_loop()
        next_at = loop.time()
        try:
            while True:
                for url in cfg.downstream:
                    if len(in_flight) < limit:
                        task = asyncio.ensure_future(one(url))
                        in_flight.add(task)
                        task.add_done_callback(in_flight.discard)
                next_at += 1.0 / cfg.load_rps
                await asyncio.sleep(max(0.0, next_at - loop.time()))
        finally:
            for task in in_flight:
                task.cancel()
            await asyncio.gather(*in_flight, return_exceptions=True)


def _new_trace(rng: random.Random) -> Headers:
    """A fresh sampled W3C trace context: this call is the root of its trace."""
    trace_id, span_id = rng.getrandbits(128) or 1, rng.getrandbits(64) or 1
    return ((b"traceparent", b"00-%032x-%016x-01" % (trace_id, span_id)),)


def _json(doc: object) -> bytes:
    return json.dumps(doc).encode()


class DemoServer:
    """Serves a DemoApp on a listening socket, one task per connection, keep-alive and pipelining included."""

    def __init__(self, app: DemoApp) -> None:
        self.app = app
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[None]] = set()

    async def start(self, host: str, port: int) -> None:
        self._server = await asyncio.start_server(self._connection, host, port, reuse_address=True)

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.sockets[0].getsockname()[1])

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        requests = RequestReader()
        try:
            while True:
                data = await reader.read(65536)
                if not data:
                    return
                try:
                    batch = requests.feed(data)
                except (httptools.HttpParserError, httptools.HttpParserUpgrade):
                    writer.write(response(400, b"bad request\n", _TEXT, keep_alive=False))
                    await writer.drain()
                    return
                for req in batch:
                    status, body, ctype = await self.app.handle(req)
                    writer.write(response(status, body, ctype, req.keep_alive, head=req.method == "HEAD"))
                    await writer.drain()
                    if not req.keep_alive:
                        return
        except ConnectionError:
            pass
        finally:
            self._connections.discard(task)
            writer.close()

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        for task in list(self._connections):
            task.cancel()
        await asyncio.gather(*self._connections, return_exceptions=True)
        await self.app.client.close()


async def start_server(cfg: DemoConfig, rng: random.Random | None = None) -> DemoServer:
    """A running demo app on ``cfg.host:cfg.port`` (port 0: any free one); raises OSError if it cannot listen."""
    server = DemoServer(DemoApp(cfg, rng))
    await server.start(cfg.host, cfg.port)
    return server


async def check(url: str, limit: float) -> int:
    """``demo-app --check URL``: 0 if ``GET URL`` answers 200 within ``limit`` seconds, else 1."""
    client = Client()
    try:
        async with asyncio.timeout(limit):
            status, _ = await client.get(url)
    except (DownstreamError, OSError, TimeoutError) as e:
        print(f"demo-app --check {url}: {e or type(e).__name__}", flush=True)
        return 1
    finally:
        await client.close()
    print(f"demo-app --check {url}: {status}", flush=True)
    return 0 if status == 200 else 1


def _announce(path: str, name: str) -> None:
    with open(path, "a") as f:
        f.write(f"{name} {time.time_ns()}\n")


async def serve(cfg: DemoConfig, stop: asyncio.Event) -> None:
    server = await start_server(cfg)
    load: asyncio.Task[None] | None = None
    try:
        print(f"demo-app {cfg.name}: listening on {cfg.host}:{server.port}", flush=True)
        if cfg.announce:
            await asyncio.to_thread(_announce, cfg.announce, cfg.name)
        if cfg.load_rps > 0:
            load = asyncio.ensure_future(server.app.generate_load())
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
        await server.close()
