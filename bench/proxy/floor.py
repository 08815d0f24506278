"""A bare Python forwarder pair: what any asyncio proxy pays before doing proxy work.

``python -m bench.proxy.floor --role client|server ...`` runs one side of a
pair shaped like the meshfleet pair (client side: plain HTTP in, TLS 1.3
out with a client certificate and the server name checked; server side:
TLS 1.3 in with the client certificate required, plain HTTP out), on uvloop
with httptools, as callbacks on asyncio Protocols: each request and
response head is parsed and written out again, and that is all. No routing,
balancing, retries, timeouts, metrics, policy or pooling (each client
connection gets its own upstream connection), and nothing but GET-style
requests and length-delimited responses.

The benchmark runs it next to the real proxies so the table shows how much
of a meshfleet proxy's CPU per request is the floor set by Python, the
event loop, TLS and two socket writes, and how much is the proxy's own work.
It is a yardstick, not a proxy: never use it for anything else.
"""

from __future__ import annotations

import argparse
import asyncio
import ssl
from typing import cast

import httptools
import uvloop


class _Head:
    """Collects a message head from httptools callbacks."""

    def __init__(self) -> None:
        self.headers: list[bytes] = []
        self.url = b""
        self.body = b""

    def on_url(self, url: bytes) -> None:
        self.url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append(name + b": " + value)

    def on_body(self, body: bytes) -> None:
        self.body += body


class _Upstream(asyncio.Protocol, _Head):
    """The forwarder's connection onward; answers go back to ``down``."""

    def __init__(self, down: _Downstream) -> None:
        _Head.__init__(self)
        self.down = down
        self.parser = httptools.HttpResponseParser(self)
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        self.parser.feed_data(data)

    def on_message_complete(self) -> None:
        head = b"\r\n".join([b"HTTP/1.1 %d OK" % self.parser.get_status_code(), *self.headers, b"\r\n"])
        self.down.write(head + self.body)
        self.headers, self.body = [], b""

    def connection_lost(self, exc: Exception | None) -> None:
        self.down.close()


class _Downstream(asyncio.Protocol, _Head):
    """A client connection: requests are parsed and sent on over the upstream connection."""

    def __init__(self, opener: _Opener) -> None:
        _Head.__init__(self)
        self.parser = httptools.HttpRequestParser(self)
        self.opener = opener
        self.up: asyncio.Transport | None = None
        self.pending: list[bytes] = []
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        asyncio.ensure_future(self._connect())

    async def _connect(self) -> None:
        try:
            self.up = await self.opener(self)
        except OSError:
            self.close()
            return
        for piece in self.pending:
            self.up.write(piece)
        self.pending.clear()

    def data_received(self, data: bytes) -> None:
        self.parser.feed_data(data)

    def on_message_complete(self) -> None:
        method = self.parser.get_method()
        head = b"\r\n".join([method + b" " + self.url + b" HTTP/1.1", *self.headers, b"\r\n"])
        self.headers, self.url = [], b""
        if self.up is None:
            self.pending.append(head)
        else:
            self.up.write(head)

    def write(self, data: bytes) -> None:
        if self.transport is not None:
            self.transport.write(data)

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        if self.up is not None:
            self.up.close()


class _Opener:
    def __init__(self, port: int, tls: ssl.SSLContext | None, server_name: str | None) -> None:
        self.port, self.tls, self.server_name = port, tls, server_name

    async def __call__(self, down: _Downstream) -> asyncio.Transport:
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_connection(
            lambda: _Upstream(down), "127.0.0.1", self.port, ssl=self.tls, server_hostname=self.server_name
        )
        return transport


async def _serve(args: argparse.Namespace) -> None:
    loop = asyncio.get_running_loop()
    if args.role == "client":
        out_tls = ssl.create_default_context(cafile=args.ca)
        out_tls.minimum_version = ssl.TLSVersion.TLSv1_3
        out_tls.load_cert_chain(args.cert, args.key)
        opener = _Opener(args.upstream, out_tls, args.server_name)
        in_tls = None
    else:
        in_tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        in_tls.minimum_version = ssl.TLSVersion.TLSv1_3
        in_tls.load_cert_chain(args.cert, args.key)
        in_tls.load_verify_locations(args.ca)
        in_tls.verify_mode = ssl.CERT_REQUIRED
        opener = _Opener(args.upstream, None, None)
    server = await loop.create_server(lambda: _Downstream(opener), "127.0.0.1", args.listen, ssl=in_tls)
    async with server:
        await server.serve_forever()


def main() -> None:
    ap = argparse.ArgumentParser(prog="python -m bench.proxy.floor", description=__doc__.split("\n\n")[0])
    ap.add_argument("--role", choices=("client", "server"), required=True)
    ap.add_argument("--listen", type=int, required=True)
    ap.add_argument("--upstream", type=int, required=True)
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--ca", required=True)
    ap.add_argument("--server-name", help="identity the client side expects of the server side")
    uvloop.run(_serve(ap.parse_args()))


if __name__ == "__main__":
    main()
