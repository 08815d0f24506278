"""Listening sockets and aiohttp sites of a control-plane service, opened and closed together."""

from __future__ import annotations

import socket
import ssl

from aiohttp import web


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

    async def close(self) -> None:
        for runner in reversed(self._runners):
            await runner.cleanup()
        self._runners.clear()
