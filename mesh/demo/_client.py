"""The demo app's calls to its downstreams: plain HTTP/1.1 GETs over pooled keep-alive connections."""

from __future__ import annotations

import asyncio
import contextlib

from mesh.demo._http import Headers, ResponseReader, Target, get_request, target
from mesh.demo.errors import DownstreamError

_Conn = tuple[asyncio.StreamReader, asyncio.StreamWriter]
_MAX_IDLE = 64  # per downstream: enough for a load generator's in-flight calls


class Client:
    def __init__(self) -> None:
        self._idle: dict[tuple[str, int], list[_Conn]] = {}

    async def get(self, url: str, headers: Headers = ()) -> tuple[int, bytes]:
        """(status, body) of ``GET url``; raises DownstreamError or OSError (callers bound it in time)."""
        t = target(url)
        conn = self._take(t)
        if conn is not None:
            try:
                return await self._exchange(t, conn, headers)
            except (DownstreamError, ConnectionError):
                pass  # the server closed an idle connection meanwhile: a GET may be sent again
        conn = await asyncio.open_connection(t.host, t.port)
        return await self._exchange(t, conn, headers)

    def _take(self, t: Target) -> _Conn | None:
        idle = self._idle.get(t.key)
        while idle:
            conn = idle.pop()
            if not conn[0].at_eof() and not conn[1].is_closing():
                return conn
            conn[1].close()
        return None

    async def _exchange(self, t: Target, conn: _Conn, headers: Headers) -> tuple[int, bytes]:
        reader, writer = conn
        done = False
        try:
            writer.write(get_request(t, headers))
            await writer.drain()
            resp = ResponseReader()
            while not resp.complete:
                data = await reader.read(65536)
                if data:
                    resp.feed(data)
                else:
                    resp.eof()
            done = True
        finally:
            if not done:
                writer.close()
        idle = self._idle.setdefault(t.key, [])
        if resp.keep_alive and len(idle) < _MAX_IDLE:
            idle.append(conn)
        else:
            writer.close()
        return resp.status, resp.body

    async def close(self) -> None:
        conns = [c for idle in self._idle.values() for c in idle]
        self._idle.clear()
        for _, writer in conns:
            writer.close()
        for _, writer in conns:
            with contextlib.suppress(OSError):
                await writer.wait_closed()
