"""How responses leave the proxy: a small body that is already parsed goes out with its head."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import cast

import pytest

from mesh.proxy.http1 import Data, EndOfMessage, Request, RequestReader, Response, ResponseReader
from mesh.proxy.http_server import (
    BodyStream,
    DownstreamConnection,
    OutgoingResponse,
    RequestBody,
    ServeOptions,
    serve_http1,
    write_response,
)
from mesh.proxy.netio import ByteCount


class RecordingWriter:
    """Stands in for the client's stream writer and keeps every write separately."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.transport = self
        self.drains = 0

    def get_write_buffer_size(self) -> int:
        return 1  # pretend the peer is slow, so every drain is awaited

    def write(self, data: bytes) -> None:
        self.writes.append(bytes(data))

    async def drain(self) -> None:
        self.drains += 1
        await asyncio.sleep(0)


class ScriptedBody(BodyStream):
    """``ready`` is available at once; ``later`` only by waiting."""

    def __init__(self, ready: bytes, ended: bool, later: list[bytes]) -> None:
        self.ready, self.ended, self.later = ready, ended, list(later)

    def take_ready(self) -> tuple[bytes, bool]:
        ready, self.ready = self.ready, b""
        return ready, self.ended

    async def __anext__(self) -> bytes:
        if self.ended or not self.later:
            raise StopAsyncIteration
        return self.later.pop(0)


def request(raw: bytes = b"GET / HTTP/1.1\r\nHost: web\r\n\r\n") -> Request:
    ev = RequestReader().feed(raw)[0]
    assert isinstance(ev, Request)
    return ev


async def send(resp: OutgoingResponse, req: Request | None = None) -> tuple[RecordingWriter, bytes]:
    writer = RecordingWriter()
    conn = DownstreamConnection(asyncio.StreamReader(), cast(asyncio.StreamWriter, writer), ByteCount(), ServeOptions())
    assert await write_response(conn, req or request(), resp)
    assert conn.count.written == sum(len(w) for w in writer.writes)
    return writer, b"".join(writer.writes)


def parse_response(raw: bytes) -> tuple[int, bytes]:
    reader = ResponseReader()
    events = reader.feed(raw)
    body = b"".join(getattr(e, "data", b"") for e in events)
    return getattr(events[0], "status", 0), body


@pytest.mark.parametrize("length", [5, None])
async def test_small_parsed_body_leaves_in_one_write(length: int | None) -> None:
    resp = OutgoingResponse(200, "OK", [], stream=ScriptedBody(b"hello", True, []), stream_length=length)
    writer, raw = await send(resp)
    assert len(writer.writes) == 1
    assert parse_response(raw) == (200, b"hello")


async def test_body_still_arriving_follows_the_head_and_what_was_ready() -> None:
    resp = OutgoingResponse(200, "OK", [], stream=ScriptedBody(b"ab", False, [b"cd", b"ef"]))
    writer, raw = await send(resp)
    assert writer.writes[0].endswith(b"\r\n2\r\nab\r\n")  # head and the ready piece together
    assert len(writer.writes) == 4  # then each later piece, then the last chunk
    assert parse_response(raw) == (200, b"abcdef")


async def test_plain_async_iterators_still_stream() -> None:
    async def pieces() -> AsyncIterator[bytes]:
        yield b"x"
        yield b"y"

    resp = OutgoingResponse(200, "OK", [], stream=pieces(), stream_length=2)
    _, raw = await send(resp)
    assert parse_response(raw) == (200, b"xy")


async def test_pipelined_requests_with_and_without_bodies_are_answered_in_order() -> None:
    async def echo(req: Request, body: RequestBody) -> OutgoingResponse:
        data, complete = await body.read_all(1 << 16)
        assert complete
        return OutgoingResponse(200, "OK", [(b"X-Target", req.target.encode())], body=data)

    async def on_client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await serve_http1(DownstreamConnection(reader, writer, ByteCount(), ServeOptions()), echo)

    server = await asyncio.start_server(on_client, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(
            b"GET /1 HTTP/1.1\r\nHost: a\r\n\r\n"
            b"POST /2 HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc"
            b"POST /3 HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nde\r\n1\r\nf\r\n0\r\n\r\n"
            b"GET /4 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"
        )
        raw = await asyncio.wait_for(reader.read(-1), 5)
        writer.close()
    finally:
        server.close()
        await server.wait_closed()
    parser = ResponseReader()
    answers: list[tuple[bytes | None, bytes]] = []
    body = b""
    for event in parser.feed(raw) + parser.feed_eof():
        if isinstance(event, Response):
            target, body = event.header(b"x-target"), b""
        elif isinstance(event, Data):
            body += event.data
        elif isinstance(event, EndOfMessage):
            answers.append((target, body))
    assert answers == [(b"/1", b""), (b"/2", b"abc"), (b"/3", b"def"), (b"/4", b"")]
