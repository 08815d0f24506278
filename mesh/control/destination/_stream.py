"""The stream listener: TLS, the hello, reading frames into the hub, writing its answers.

A proxy that reads too slowly is disconnected once its unsent output passes
a limit; it reconnects and gets fresh snapshots, which is cheaper for
everyone than buffering an ever longer backlog of stale updates.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl

from mesh.destination_client import FrameDecoder, Message, encode, messages
from mesh.destination_client.errors import ProtocolError

from ._hub import Hub, Session
from ._tls import peer_identity

log = logging.getLogger(__name__)

MAX_BACKLOG = 8 * 1024 * 1024
READ_SIZE = 65536


class StreamServer:
    def __init__(self, hub: Hub, *, heartbeat: float = 10.0) -> None:
        self.hub = hub
        self.heartbeat = heartbeat
        self._tasks: set[asyncio.Task[None]] = set()

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        peer = peer_identity(writer.get_extra_info("ssl_object"))
        try:
            if peer is None:
                log.info("stream refused: the client certificate names no identity")
                return
            await self._serve(peer, reader, writer)
        finally:
            if task is not None:
                self._tasks.discard(task)
            writer.close()
            with contextlib.suppress(OSError, ssl.SSLError, asyncio.CancelledError):
                await writer.wait_closed()

    async def _serve(self, peer: str, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        transport = writer.transport

        def send(msg: Message) -> None:
            if writer.is_closing():
                return
            if transport.get_write_buffer_size() > MAX_BACKLOG:
                log.warning("closing the stream of %s: %d bytes unsent", peer, transport.get_write_buffer_size())
                transport.abort()
                return
            writer.write(encode(msg))

        session = Session(peer, send)
        send({"type": messages.HELLO, "version": messages.VERSION, "heartbeat": self.heartbeat})
        self.hub.open(session)
        decoder = FrameDecoder(max_frame=64 * 1024)  # client messages are tiny
        try:
            while True:
                try:
                    data = await reader.read(READ_SIZE)
                except (OSError, ssl.SSLError):
                    return
                if not data:
                    return
                try:
                    frames = decoder.feed(data)
                except ProtocolError as e:
                    log.info("closing the stream of %s: %s", peer, e)
                    return
                for msg in frames:
                    self.hub.handle(session, msg)
        finally:
            self.hub.close(session)

    async def close_all(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
