"""Small socket and stream helpers shared by the listeners."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(slots=True)
class ByteCount:
    read: int = 0
    written: int = 0


class ReadDeadline:
    """A deadline for the reads of one stream, cheap enough to move on every read.

    ``asyncio.timeout`` around each read schedules and cancels a loop timer
    every time. Here one timer per connection stays scheduled and is only
    moved when it fires early (the deadline moved later meanwhile) or when a
    deadline earlier than the scheduled one is set. When a deadline passes
    while set, the pending read fails with ``TimeoutError`` (and so does every
    later read: the connection is done).
    """

    __slots__ = ("_loop", "_reader", "_deadline", "_timer", "_timer_at", "_what")

    def __init__(self, reader: asyncio.StreamReader, what: str) -> None:
        self._loop = asyncio.get_running_loop()
        self._reader = reader
        self._deadline: float | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = 0.0
        self._what = what

    def set(self, deadline: float) -> None:
        """Reads from now on must complete by ``deadline`` (loop time)."""
        self._deadline = deadline
        if self._timer is None or self._timer_at > deadline:
            if self._timer is not None:
                self._timer.cancel()
            self._timer_at = deadline
            self._timer = self._loop.call_at(deadline, self._fire)

    def set_in(self, seconds: float) -> None:
        self.set(self._loop.time() + seconds)

    def clear(self) -> None:
        """No deadline until the next ``set``; the timer stays, firing finds nothing to do."""
        self._deadline = None

    def cancel(self) -> None:
        self._deadline = None
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _fire(self) -> None:
        self._timer = None
        deadline = self._deadline
        if deadline is None:
            return
        if self._loop.time() >= deadline:
            self._deadline = None
            self._reader.set_exception(TimeoutError(f"{self._what}: no data in time"))
        else:
            self._timer_at = deadline
            self._timer = self._loop.call_at(deadline, self._fire)


async def peek(sock: socket.socket, size: int, wait: float, enough: Callable[[bytes], bool]) -> bytes:
    """Look at the first bytes of ``sock`` without consuming them.

    Returns once ``enough(bytes)`` is true, the peer closed, or ``wait`` seconds
    passes (whatever has arrived by then; possibly nothing).
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait
    seen = b""
    while True:
        try:
            seen = sock.recv(size, socket.MSG_PEEK)
        except (BlockingIOError, InterruptedError):
            pass
        else:
            if not seen or enough(seen) or len(seen) >= size:
                return seen
        remaining = deadline - loop.time()
        if remaining <= 0:
            return seen
        if seen:
            # The socket stays readable while unread data sits in it, so
            # waiting for readability would spin; poll gently instead.
            await asyncio.sleep(min(0.005, remaining))
            continue
        ready: asyncio.Future[None] = loop.create_future()
        loop.add_reader(sock.fileno(), _wake, ready)
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(ready, remaining)
        finally:
            loop.remove_reader(sock.fileno())


async def open_accepted(
    sock: socket.socket, tls: ssl.SSLContext | None, handshake_timeout: float
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """Wrap an accepted socket in asyncio streams, terminating TLS if ``tls`` is given."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=2**16)
    protocol = asyncio.StreamReaderProtocol(reader)
    transport, _ = await loop.connect_accepted_socket(
        lambda: protocol, sock, ssl=tls, ssl_handshake_timeout=handshake_timeout if tls else None
    )
    writer = asyncio.StreamWriter(transport, protocol, reader, loop)
    return reader, writer


async def close_writer(writer: asyncio.StreamWriter) -> None:
    """Close without letting a peer that vanished raise at us."""
    with contextlib.suppress(Exception):
        writer.close()
    with contextlib.suppress(Exception):
        await asyncio.wait_for(writer.wait_closed(), 1.0)


async def tunnel(
    a: tuple[asyncio.StreamReader, asyncio.StreamWriter],
    b: tuple[asyncio.StreamReader, asyncio.StreamWriter],
    *,
    idle_timeout: float,
    a_count: ByteCount,
    b_count: ByteCount,
) -> None:
    """Copy bytes both ways until both sides finish or nothing moves for ``idle_timeout``."""
    last = [time.monotonic()]

    async def pump(
        src: asyncio.StreamReader, dst: asyncio.StreamWriter, src_count: ByteCount, dst_count: ByteCount
    ) -> None:
        try:
            while True:
                data = await src.read(65536)
                if not data:
                    break
                last[0] = time.monotonic()
                src_count.read += len(data)
                dst.write(data)
                dst_count.written += len(data)
                await dst.drain()
            if dst.can_write_eof():
                dst.write_eof()
        except (ConnectionError, OSError, ssl.SSLError):
            pass

    async def watchdog() -> None:
        while True:
            await asyncio.sleep(max(0.05, idle_timeout / 4))
            if time.monotonic() - last[0] > idle_timeout:
                return

    pumps: list[asyncio.Future[None]] = [
        asyncio.ensure_future(pump(a[0], b[1], a_count, b_count)),
        asyncio.ensure_future(pump(b[0], a[1], b_count, a_count)),
    ]
    dog: asyncio.Future[object] = asyncio.ensure_future(watchdog())
    both: asyncio.Future[object] = asyncio.ensure_future(_all(pumps))
    try:
        await asyncio.wait([both, dog], return_when=asyncio.FIRST_COMPLETED)
    finally:
        everything: list[asyncio.Future[Any]] = [*pumps, dog, both]
        for task in everything:
            task.cancel()
        await asyncio.gather(*everything, return_exceptions=True)
        await close_writer(a[1])
        await close_writer(b[1])


async def _all(tasks: Sequence[asyncio.Future[None]]) -> object:
    await asyncio.gather(*tasks)
    return None


def _wake(ready: asyncio.Future[None]) -> None:
    if not ready.done():
        ready.set_result(None)
