"""Listening sockets and aiohttp sites of a control-plane service, opened and closed together."""

from __future__ import annotations

import asyncio
import socket
import ssl

from aiohttp import web

# Closing a TLS connection waits for the peer's close_notify.  A peer that never
# sends one (or a loop stopped right after ``close``) would otherwise keep the
# socket open until the garbage collector finds it.
CLOSE_NOTIFY_GRACE = 1.0


def bind(host: str, port: int) -> socket.socket:
    """A listening socket bound before the service starts, so port 0 yields a known port at once."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(512)
    sock.setblocking(False)
    return sock


class Sites:
    """The aiohttp applications a service serves; ``close`` stops them in reverse order."""

    def __init__(self) -> None:
        self._runners: list[web.AppRunner] = []

    async def serve(self, app: web.Application, sock: socket.socket, ssl_context: ssl.SSLContext | None) -> None:
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        self._runners.append(runner)
        await web.SockSite(runner, sock, ssl_context=ssl_context).start()

    async def close(self, grace: float = CLOSE_NOTIFY_GRACE) -> None:
        transports = [
            h.transport for r in self._runners if r.server is not None for h in r.server.connections if h.transport
        ]
        for runner in reversed(self._runners):
            await runner.cleanup()
        self._runners.clear()
        # No callback reports the socket under a TLS transport closing: look every 10 ms.
        for _ in range(max(1, round(grace / 0.01))):
            if not any(_socket_open(t) for t in transports):
                break
            await asyncio.sleep(0.01)
        for transport in transports:
            if _socket_open(transport):
                transport.abort()


def _socket_open(transport: asyncio.BaseTransport) -> bool:
    """Whether the socket under ``transport`` (under its TLS layer, if any) is still open."""
    sock = transport.get_extra_info("socket")
    return sock is not None and sock.fileno() != -1
