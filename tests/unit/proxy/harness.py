"""Backends, clients and proxy pairs on 127.0.0.1 for the shell tests."""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import json
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from mesh.proxy.app import ProxyApp
from mesh.proxy.breaker import BreakerConfig
from mesh.proxy.identity import FileIdentitySource
from mesh.proxy.resolver import FileResolver
from mesh.proxy.services import Timeouts
from mesh.proxy.settings import ProxySettings

from .certs import IdentityFiles

Behaviour = Callable[[str, str, bytes, int], Awaitable[tuple[int, bytes]]]


@dataclass
class Backend:
    """A tiny HTTP/1.1 server written without the proxy's code, counting what it sees."""

    behaviour: Behaviour
    hits: int = 0
    connections: int = 0
    server: asyncio.Server | None = None
    port: int = 0
    seen_headers: list[dict[str, str]] = field(default_factory=list)

    async def start(self) -> Backend:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                method, path, _ = lines[0].split(" ", 2)
                headers = {}
                for line in lines[1:]:
                    if line:
                        k, _, v = line.partition(":")
                        headers[k.strip().lower()] = v.strip()
                self.seen_headers.append(headers)
                body = b""
                if "content-length" in headers:
                    body = await reader.readexactly(int(headers["content-length"]))
                elif headers.get("transfer-encoding") == "chunked":
                    while True:
                        size = int((await reader.readuntil(b"\r\n")).strip(), 16)
                        chunk = await reader.readexactly(size + 2)
                        if size == 0:
                            break
                        body += chunk[:-2]
                self.hits += 1
                status, payload = await self.behaviour(method, path, body, self.hits)
                writer.write(
                    b"HTTP/1.1 %d X\r\nContent-Length: %d\r\nContent-Type: text/plain\r\n\r\n%s"
                    % (status, len(payload), payload)
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            pass
        finally:
            writer.close()

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.server.wait_closed(), 1)


async def ok_behaviour(method: str, path: str, body: bytes, n: int) -> tuple[int, bytes]:
    return 200, b"hello " + path.encode() + b" " + body


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes


def request_sync(
    port: int, path: str = "/", host: str = "web.shop.svc.cluster.local:8080", method: str = "GET", body: bytes = b""
) -> Reply:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request(method, path, body=body or None, headers={"Host": host})
        resp = conn.getresponse()
        data = resp.read()
        return Reply(resp.status, {k.lower(): v for k, v in resp.getheaders()}, data)
    finally:
        conn.close()


async def request(port: int, path: str = "/", **kw: object) -> Reply:
    return await asyncio.to_thread(request_sync, port, path, **kw)  # type: ignore[arg-type]


class KeepAliveClient:
    """One keep-alive connection, used sequentially."""

    def __init__(self, port: int, host: str = "web.shop.svc.cluster.local:8080") -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        self.host = host

    def get(self, path: str = "/") -> Reply:
        self.conn.request("GET", path, headers={"Host": self.host})
        resp = self.conn.getresponse()
        return Reply(resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read())

    def close(self) -> None:
        self.conn.close()


async def scrape(app: ProxyApp) -> str:
    reply = await request(app.address("admin")[1], "/metrics", host="localhost")
    assert reply.status == 200
    return reply.body.decode()


def metric_value(text: str, name: str, **labels: str) -> float:
    """Sum of samples of ``name`` whose labels include ``labels``."""
    total = 0.0
    for line in text.splitlines():
        m = re.match(rf"^{re.escape(name)}(?:\{{(.*)\}})? (\S+)$", line)
        if not m:
            continue
        found = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(1) or ""))
        if all(found.get(k) == v for k, v in labels.items()):
            total += float(m.group(2))
    return total


def settings(**over: object) -> ProxySettings:
    base: dict[str, object] = {
        "inbound_addr": ("127.0.0.1", 0),
        "outbound_addr": ("127.0.0.1", 0),
        "admin_addr": ("127.0.0.1", 0),
        "detect_timeout": 1.0,
        "timeouts": Timeouts(request=None, connect=1.0, idle=30.0),
        "shutdown_grace": 2.0,
    }
    base.update(over)
    return ProxySettings(**base)  # type: ignore[arg-type]


def write_services(path: Path, services: list[dict[str, object]]) -> Path:
    path.write_text(json.dumps({"services": services}))
    return path


@contextlib.asynccontextmanager
async def running(
    ident: IdentityFiles | None,
    resolver_path: Path | None,
    tmp: Path,
    *,
    breaker: BreakerConfig | None = None,
    **over: object,
) -> AsyncIterator[ProxyApp]:
    if ident is not None:
        identity = FileIdentitySource(ident.cert_path, ident.key_path, ident.bundle_path)
        identity.refresh()
    else:
        missing = tmp / "missing"
        identity = FileIdentitySource(missing / "cert.pem", missing / "key.pem", missing / "bundle.pem")
    if resolver_path is None:
        resolver_path = write_services(tmp / f"empty-{id(identity)}.json", [])
    app = ProxyApp(settings(**over), identity, FileResolver(resolver_path), breaker_config=breaker)
    await app.start()
    try:
        yield app
    finally:
        await app.shutdown(grace=0.5)


def web_service(
    endpoints: list[dict[str, object]],
    *,
    retry: dict[str, object] | None = None,
    timeouts: dict[str, object] | None = None,
) -> dict[str, object]:
    svc: dict[str, object] = {
        "name": "web.shop.svc.cluster.local:8080",
        "namespace": "shop",
        "service": "web",
        "endpoints": endpoints,
    }
    if retry is not None:
        svc["retry"] = retry
    if timeouts is not None:
        svc["timeouts"] = timeouts
    return svc
