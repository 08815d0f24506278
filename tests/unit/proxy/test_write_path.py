"""How responses leave the proxy: a small body that is already parsed goes out with its head."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import cast

import pytest

from mesh.proxy.http1 import Request, RequestReader, ResponseReader
from mesh.proxy.http_server import BodyStream, DownstreamConnection, OutgoingResponse, ServeOptions, write_response
from mesh.proxy.netio import ByteCount


class RecordingWriter:
    """Stands in for the client's stream writer and keeps every write separately."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []

    def write(self, data: bytes) -> None:
        self.writes.append(bytes(data))

    async def drain(self) -> None:
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
    conn = DownstreamConnection(
        cast(asyncio.StreamReader, None), cast(asyncio.StreamWriter, writer), ByteCount(), ServeOptions()
    )
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
