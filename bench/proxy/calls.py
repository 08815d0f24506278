"""Python function calls per proxied request, through an in-process proxy pair.

``python -m bench.proxy.calls [--requests N]``: client -> proxy A outbound ->
mTLS -> proxy B inbound -> a fixed-answer backend, all on one uvloop loop in
this process, with cProfile counting. Wall-clock and CPU figures on a shared
machine move with its load; the number of Python calls per request does not,
so it shows what a change to the request path saves. The count includes the
small client and backend (a few calls per request) and counts each resumption
of a coroutine as a call.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import cProfile
import pstats
import tempfile
import time
from pathlib import Path
from typing import cast

import uvloop

from tests.unit.proxy.certs import make_ca, make_identity
from tests.unit.proxy.harness import running, web_service, write_services

BODY = b"x" * 23
ANSWER = (
    b"HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nDate: Sat, 28 Nov 2026 00:00:00 GMT\r\n"
    b"Content-Type: text/plain\r\nContent-Length: 23\r\nConnection: keep-alive\r\n\r\n" + BODY
)
QUESTION = b"GET / HTTP/1.1\r\nHost: web.shop.svc.cluster.local:8080\r\n\r\n"
CLIENTS = 8


class _Backend(asyncio.Protocol):
    """Answers every request head with the same nginx-like response."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's transports do not subclass asyncio's

    def data_received(self, data: bytes) -> None:
        self.transport.write(ANSWER * data.count(b"\r\n\r\n"))


async def _client(port: int, n: int) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    for _ in range(n):
        writer.write(QUESTION)
        got = b""
        while not got.endswith(BODY):
            got += await reader.read(65536)
    writer.close()


async def _measure(requests: int) -> tuple[pstats.Stats, float, float, int]:
    # Throw-away certificates and keys, removed with the directory at the end.
    with tempfile.TemporaryDirectory(prefix="meshfleet-bench-calls-") as name:
        return await _measure_in(Path(name), requests)


async def _measure_in(tmp: Path, requests: int) -> tuple[pstats.Stats, float, float, int]:
    anchor = make_ca("meshfleet bench anchor")
    issuer = make_ca("meshfleet bench issuer", anchor)
    client_id = make_identity(tmp / "client", issuer, anchor, "app", "shop")
    server_id = make_identity(tmp / "server", issuer, anchor, "web", "shop")
    backend = await asyncio.get_running_loop().create_server(_Backend, "127.0.0.1", 0)
    backend_port = backend.sockets[0].getsockname()[1]
    per_client = max(1, requests // CLIENTS)
    try:
        async with running(server_id, None, tmp, default_inbound_policy="all-authenticated") as server:
            endpoint = {
                "address": f"127.0.0.1:{backend_port}",
                "identity": server_id.name,
                "proxy_port": server.address("inbound")[1],
            }
            services = write_services(tmp / "services.json", [web_service([endpoint])])
            async with running(client_id, services, tmp) as client:
                port = client.address("outbound")[1]
                await asyncio.gather(*(_client(port, 50) for _ in range(CLIENTS)))  # pools and handshakes
                started = time.process_time()
                await asyncio.gather(*(_client(port, per_client) for _ in range(CLIENTS)))
                plain_cpu = time.process_time() - started
                profile = cProfile.Profile()
                started = time.process_time()
                profile.enable()
                await asyncio.gather(*(_client(port, per_client) for _ in range(CLIENTS)))
                profile.disable()
                cpu = time.process_time() - started
    finally:
        backend.close()
    return pstats.Stats(profile), cpu, plain_cpu, per_client * CLIENTS


def main() -> None:
    ap = argparse.ArgumentParser(prog="python -m bench.proxy.calls", description=__doc__.split("\n\n")[0])
    ap.add_argument("--requests", type=int, default=3200)
    args = ap.parse_args()
    stats, cpu, plain_cpu, n = uvloop.run(_measure(args.requests))
    by_module: collections.Counter[str] = collections.Counter()
    for (filename, _line, _name), (_cc, calls, _tt, _ct, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        by_module["C built-ins" if filename == "~" else Path(filename).name] += calls
    print(f"{stats.total_calls / n:.0f} Python calls per request ({n} requests, {CLIENTS} keep-alive clients)")  # type: ignore[attr-defined]
    print(f"{plain_cpu / n * 1e6:.0f} µs CPU per request for client, both proxies and backend together")
    print(f"{cpu / n * 1e6:.0f} µs CPU per request for the same, under cProfile")
    for module, calls in by_module.most_common(12):
        print(f"  {calls / n:6.1f}  {module}")


if __name__ == "__main__":
    main()
