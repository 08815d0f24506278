"""Stopping a control-plane listener closes every connection's socket, even when a TLS peer stays silent."""

from __future__ import annotations

import asyncio
import socket
import ssl
import time
from pathlib import Path

from aiohttp import web

from fleet.local.certs import ClusterPKI
from mesh.control._sites import Sites, bind


async def _live(_: web.Request) -> web.Response:
    return web.Response(text="live\n")


def _server_context(tmp_path: Path) -> tuple[ssl.SSLContext, bytes]:
    pki = ClusterPKI(tmp_path / "pki")
    pki.ensure("webhook", "10.0.0.1")  # its "apiserver" pair serves 127.0.0.1
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    pair = pki.pair("apiserver")
    ctx.load_cert_chain(pair.cert, pair.key)
    return ctx, pki.ca.cert.read_bytes()


def _silent_tls_peer(port: int, ca: bytes) -> tuple[socket.socket, ssl.SSLObject]:
    """Handshake and one request through memory BIOs, then never read TLS again: no close_notify back."""
    raw = socket.create_connection(("127.0.0.1", port))
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = ssl.create_default_context(cadata=ca.decode()).wrap_bio(incoming, outgoing, server_hostname="127.0.0.1")
    request = b"GET /live HTTP/1.1\r\nHost: x\r\n\r\n"
    done = False
    while True:
        try:
            if not done:
                tls.do_handshake()
                done = True
                tls.write(request)
            if b"live" in tls.read(4096):
                return raw, tls
        except ssl.SSLWantReadError:
            pass
        finally:
            if outgoing.pending:
                raw.sendall(outgoing.read())
        incoming.write(raw.recv(65536))


async def _wait_for_eof(raw: socket.socket, limit: float) -> float:
    """Seconds until the server closes the TCP connection (reading and discarding TLS records)."""
    started = time.monotonic()

    def drain() -> None:
        raw.settimeout(limit)
        while raw.recv(65536):
            pass

    await asyncio.to_thread(drain)
    return time.monotonic() - started


async def test_close_does_not_wait_on_a_peer_that_never_sends_close_notify(tmp_path: Path) -> None:
    ctx, ca = _server_context(tmp_path)
    app = web.Application()
    app.add_routes([web.get("/live", _live)])
    sites = Sites()
    sock = bind("127.0.0.1", 0)
    await sites.serve(app, sock, ctx)
    raw, _tls = await asyncio.to_thread(_silent_tls_peer, sock.getsockname()[1], ca)
    try:
        closing = asyncio.create_task(sites.close(grace=0.2))
        # Without a forced close the server would keep the socket for the whole TLS
        # shutdown timeout (30 s), and drop it to the garbage collector if its loop ends first.
        elapsed = await _wait_for_eof(raw, limit=10)
        await closing
    finally:
        raw.close()
    assert elapsed < 5


async def test_close_is_quick_when_the_peer_answers(tmp_path: Path) -> None:
    ctx, ca = _server_context(tmp_path)
    app = web.Application()
    app.add_routes([web.get("/live", _live)])
    sites = Sites()
    sock = bind("127.0.0.1", 0)
    await sites.serve(app, sock, ctx)
    client = ssl.create_default_context(cadata=ca.decode())
    reader, writer = await asyncio.open_connection("127.0.0.1", sock.getsockname()[1], ssl=client)
    writer.write(b"GET /live HTTP/1.1\r\nHost: x\r\n\r\n")
    assert b"200" in await reader.readline()
    started = time.monotonic()
    await sites.close(grace=5)
    assert time.monotonic() - started < 2  # the peer's close_notify ends the wait, not the grace period
    await reader.read()  # the rest of the response, then the end the server's close makes
    assert reader.at_eof()
    writer.close()
