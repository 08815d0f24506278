"""Serving HTTP/1.x to a downstream client: the async shell around ``http1.RequestReader``.

One request is handled at a time, in order, even when the client pipelines:
the next request is not read until the previous response is fully written.
A handler receives the request head and a ``RequestBody`` and returns an
``OutgoingResponse``; this module frames and writes it.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

from .errors import HttpError
from .http1 import (
    LAST_CHUNK,
    Data,
    EndOfMessage,
    Event,
    Framing,
    Request,
    RequestReader,
    Upgraded,
    encode_chunk,
    serialize_response_head,
    simple_response,
)
from .netio import ByteCount, ReadDeadline, close_writer, tunnel

log = logging.getLogger(__name__)

PROXY_ERROR_HEADER = b"meshfleet-proxy-error"


@dataclass(frozen=True, slots=True)
class ServeOptions:
    idle_timeout: float = 300.0  # no bytes in either direction for this long closes the connection
    head_timeout: float = 10.0  # a request head must arrive completely within this (slow-loris)
    max_head_bytes: int = 64 * 1024


class DownstreamConnection:
    """Bytes in from a client, parsed lazily into events."""

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        count: ByteCount,
        options: ServeOptions,
    ) -> None:
        self.reader = reader
        self.writer = writer
        self.count = count
        self.options = options
        self.parser = RequestReader(options.max_head_bytes)
        self._events: deque[Event] = deque()
        self._deadline = ReadDeadline(reader, "client")
        self.eof = False
        self.idle = True  # waiting for a request with nothing received: safe to close when draining

    async def next_event(self, wait: float) -> Event | None:
        """The next parsed event, or None at end of stream. Raises HttpError, TimeoutError."""
        while not self._events:
            if self.eof:
                return None
            data = await self._read(wait)
            if not data:
                self.eof = True
                return None
            self.count.read += len(data)
            self._events.extend(self.parser.feed(data))
        return self._events.popleft()

    async def next_request(self) -> Request | None:
        """Wait for the next request head: idle timeout before the first byte, head timeout after."""
        loop = asyncio.get_running_loop()
        started: float | None = None
        self.idle = not self._events
        while True:
            if self._events:
                self.idle = False
                event = self._events.popleft()
                if isinstance(event, Request):
                    return event
                raise HttpError(f"unexpected {type(event).__name__} between requests")
            if self.eof:
                return None
            if started is None:
                timeout = self.options.idle_timeout
            else:
                timeout = started + self.options.head_timeout - loop.time()
                if timeout <= 0:
                    raise TimeoutError("request head too slow")
            data = await self._read(timeout)
            if not data:
                self.eof = True
                continue
            if started is None:
                started = loop.time()
                self.idle = False
            self.count.read += len(data)
            self._events.extend(self.parser.feed(data))

    async def _read(self, wait: float) -> bytes:
        deadline = self._deadline
        deadline.set_in(wait)
        try:
            return await self.reader.read(65536)
        finally:
            deadline.clear()

    def close_timers(self) -> None:
        self._deadline.cancel()

    def write(self, data: bytes) -> None:
        self.count.written += len(data)
        self.writer.write(data)

    async def drain(self) -> None:
        """Wait for the client to take what was written, if any of it is still buffered.

        A write to a healthy socket usually leaves nothing behind; skipping the
        wait then saves two coroutine hops per response. A connection lost
        meanwhile shows up at the next read instead.
        """
        if self.writer.transport.get_write_buffer_size():
            await self.writer.drain()


class RequestBody:
    """The body of the request being handled, read on demand."""

    def __init__(self, conn: DownstreamConnection, request: Request) -> None:
        self._conn = conn
        self.framing = request.framing
        self.content_length = request.content_length
        self.finished = request.framing is Framing.NONE and not request.upgrade
        self.upgrade_trailing: bytes | None = None
        self._needs_end = request.framing is Framing.NONE  # EndOfMessage still queued

    @property
    def complete(self) -> bool:
        """Every byte of this request has been consumed from the connection."""
        return self.finished and not self._needs_end

    def _end_if_parsed(self) -> bool:
        """Consume the end of a body-less request if the parser already has it (no waiting)."""
        events = self._conn._events
        if self._needs_end and events and isinstance(events[0], EndOfMessage):
            events.popleft()
            self._needs_end = False
            self._maybe_upgrade()
        return not self._needs_end

    async def read(self) -> bytes | None:
        """Next piece of body, or None once it is complete."""
        if self.finished:
            if not self._end_if_parsed():
                await self._consume_end()
            return None
        events = self._conn._events
        if events:  # parsed with the head or an earlier read: no need to wait
            event: Event | None = events.popleft()
        else:
            event = await self._conn.next_event(self._conn.options.idle_timeout)
        if isinstance(event, Data):
            return event.data
        if isinstance(event, EndOfMessage):
            self.finished = True
            self._needs_end = False
            self._maybe_upgrade()
            return None
        raise HttpError("client closed in the middle of a request body")

    async def _consume_end(self) -> None:
        if self._needs_end:
            self._needs_end = False
            event = await self._conn.next_event(self._conn.options.idle_timeout)
            if not isinstance(event, EndOfMessage):
                raise HttpError("request ended unexpectedly")
            self._maybe_upgrade()

    def _maybe_upgrade(self) -> None:
        if self._conn.parser is not None and self._conn._events and isinstance(self._conn._events[0], Upgraded):
            upgraded = self._conn._events.popleft()
            assert isinstance(upgraded, Upgraded)
            self.upgrade_trailing = upgraded.trailing

    async def read_all(self, limit: int) -> tuple[bytes, bool]:
        """Up to ``limit`` bytes; (data, complete)."""
        if self.finished and self._end_if_parsed():
            return b"", True  # the usual GET: nothing to read, nothing to wait for
        out = bytearray()
        while len(out) <= limit:
            piece = await self.read()
            if piece is None:
                return bytes(out), True
            out += piece
        return bytes(out), False

    async def drain(self) -> None:
        while await self.read() is not None:
            pass

    async def chunks(self) -> AsyncIterator[bytes]:
        while (piece := await self.read()) is not None:
            yield piece


class BodyStream(AsyncIterator[bytes]):
    """A streamed body that may already hold some of its bytes.

    ``write_response`` asks ``take_ready`` before writing the head, so a small
    body parsed together with its head leaves in the same write (one system
    call, one TLS record) instead of one write per piece.
    """

    def take_ready(self) -> tuple[bytes, bool]:
        """Bytes available without waiting, and whether they end the body."""
        return b"", False


@dataclass(slots=True)
class OutgoingResponse:
    status: int
    reason: str
    headers: list[tuple[bytes, bytes]]
    body: bytes | None = None  # complete body (sent with Content-Length)
    stream: AsyncIterator[bytes] | None = None  # streamed body (chunked unless stream_length)
    stream_length: int | None = None  # exact length of ``stream`` when known
    no_body: bool = False  # HEAD, 1xx, 204, 304: headers are written exactly as given
    close: bool = False  # close the client connection afterwards
    # For a 101: the upstream side of the tunnel and bytes it already sent.
    tunnel: tuple[asyncio.StreamReader, asyncio.StreamWriter, bytes] | None = None
    tunnel_count: ByteCount | None = None
    finished: Callable[[bool], None] | None = None  # told whether the body was fully delivered
    extra: dict[str, object] = field(default_factory=dict)


def error_response(status: int, reason: str, detail: str, *, close: bool = False) -> OutgoingResponse:
    return OutgoingResponse(
        status,
        reason,
        [(PROXY_ERROR_HEADER, detail.encode("latin-1", "replace"))],
        body=b"",
        close=close,
    )


Handler = Callable[[Request, RequestBody], Awaitable[OutgoingResponse]]


async def write_response(conn: DownstreamConnection, request: Request, resp: OutgoingResponse) -> bool:
    """Frame and write ``resp``; returns whether the body was delivered completely."""
    headers = list(resp.headers)
    keep_alive = request.keep_alive and not resp.close
    if resp.tunnel is None and not keep_alive:
        headers.append((b"Connection", b"close"))
    elif request.version == "1.0" and keep_alive:
        headers.append((b"Connection", b"keep-alive"))
    if resp.no_body or resp.tunnel is not None:
        conn.write(serialize_response_head(resp.status, resp.reason, headers))
        await conn.drain()
        return True
    if resp.stream is None:
        body = resp.body or b""
        headers.append((b"Content-Length", str(len(body)).encode()))
        conn.write(serialize_response_head(resp.status, resp.reason, headers) + body)
        await conn.drain()
        return True
    chunked = request.version != "1.0" and resp.stream_length is None
    if resp.stream_length is not None:
        headers.append((b"Content-Length", str(resp.stream_length).encode()))
    elif chunked:
        headers.append((b"Transfer-Encoding", b"chunked"))
    else:
        headers.append((b"Connection", b"close"))  # HTTP/1.0 with unknown length: close delimits
    out = serialize_response_head(resp.status, resp.reason, headers)
    stream = resp.stream
    if isinstance(stream, BodyStream):
        ready, ended = stream.take_ready()
        if ready:
            out += encode_chunk(ready) if chunked else ready
        if ended:
            conn.write(out + LAST_CHUNK if chunked else out)
            await conn.drain()
            return True
    conn.write(out)
    try:
        async for piece in stream:
            conn.write(encode_chunk(piece) if chunked else piece)
            await conn.drain()
    except (HttpError, ConnectionError, OSError, TimeoutError):
        return False  # the backend broke off; the client sees a truncated message
    if chunked:
        conn.write(LAST_CHUNK)
    await conn.drain()
    return True


async def serve_http1(
    conn: DownstreamConnection,
    handler: Handler,
    *,
    draining: Callable[[], bool] = lambda: False,
    on_bad_request: Callable[[HttpError], None] | None = None,
) -> None:
    """Serve requests on ``conn`` until it closes, fails, idles out or the proxy drains."""
    try:
        while True:
            try:
                request = await conn.next_request()
            except HttpError as e:
                if on_bad_request is not None:
                    on_bad_request(e)
                conn.write(
                    simple_response(400, "Bad Request", extra=[(PROXY_ERROR_HEADER, b"malformed request")], close=True)
                )
                await conn.drain()
                return
            except TimeoutError:
                return
            if request is None:
                return
            body = RequestBody(conn, request)
            if request.header(b"expect") is not None and request.framing is not Framing.NONE:
                # The body is buffered before forwarding, so tell the client to send it now.
                conn.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            try:
                resp = await handler(request, body)
            except HttpError as e:
                if on_bad_request is not None:
                    on_bad_request(e)
                conn.write(
                    simple_response(400, "Bad Request", extra=[(PROXY_ERROR_HEADER, b"malformed request")], close=True)
                )
                await conn.drain()
                return
            if draining():
                resp.close = True
            ok = False
            try:
                ok = await write_response(conn, request, resp)
            finally:
                if resp.finished is not None and (resp.tunnel is None or not ok):
                    resp.finished(ok)
            if resp.tunnel is not None:
                try:
                    await _run_tunnel(conn, body, resp)
                finally:
                    if resp.finished is not None:
                        resp.finished(True)
                return
            if resp.stream is not None and resp.stream_length is None and request.version == "1.0":
                return
            if not ok or resp.close or not request.keep_alive:
                return
            if request.upgrade:
                return  # the parser already handed the rest of the stream to a tunnel that never came
            if body.complete:
                continue
            try:
                await body.drain()
            except (HttpError, TimeoutError):
                return
    except (ConnectionError, OSError, ssl.SSLError):
        return
    finally:
        conn.close_timers()
        await close_writer(conn.writer)


async def _run_tunnel(conn: DownstreamConnection, body: RequestBody, resp: OutgoingResponse) -> None:
    """After a 101: raw bytes both ways, starting with what either side already sent."""
    assert resp.tunnel is not None
    if resp.status != 101:
        return
    await body.drain()
    up_reader, up_writer, up_early = resp.tunnel
    if up_early:
        conn.write(up_early)
    trailing = body.upgrade_trailing or b""
    if trailing:
        up_writer.write(trailing)
    await tunnel(
        (conn.reader, conn.writer),
        (up_reader, up_writer),
        idle_timeout=conn.options.idle_timeout,
        a_count=conn.count,
        b_count=resp.tunnel_count or ByteCount(),
    )
