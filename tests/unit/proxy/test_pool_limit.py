"""The pool opens at most N connections per target; further requests wait their turn and none is lost."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest

from mesh.proxy.upstream import ConnectionPool, DialTarget, UpstreamConnection


class CountingServer:
    def __init__(self) -> None:
        self.open = 0
        self.most_open = 0
        self.accepted = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.open += 1
        self.accepted += 1
        self.most_open = max(self.most_open, self.open)
        try:
            await reader.read()  # hold the connection until the proxy closes it
        finally:
            self.open -= 1
            writer.close()


@contextlib.asynccontextmanager
async def server() -> AsyncIterator[tuple[CountingServer, DialTarget]]:
    counting = CountingServer()
    srv = await asyncio.start_server(counting.handle, "127.0.0.1", 0)
    try:
        yield counting, DialTarget("127.0.0.1", srv.sockets[0].getsockname()[1], None)
    finally:
        srv.close()
        await srv.wait_closed()


def pool(limit: int) -> ConnectionPool:
    return ConnectionPool(
        client_tls=lambda: None,
        on_open=lambda c: None,
        on_close=lambda c: None,
        on_tls_failure=lambda t, r: None,
        max_open_per_target=limit,
    )


async def test_concurrent_requests_share_at_most_the_limit_of_connections() -> None:
    async with server() as (counting, target):
        p = pool(2)
        served = 0

        async def one_request() -> None:
            nonlocal served
            conn = await p.acquire(target, 1.0)
            await asyncio.sleep(0.02)  # the exchange
            served += 1
            p.release(conn)

        await asyncio.wait_for(asyncio.gather(*(one_request() for _ in range(12))), 5)
        assert served == 12
        assert counting.accepted == 2
        assert p.open_count(target) == 2
        await p.close_all()
        assert p.open_count(target) == 0


async def test_a_closed_connection_lets_a_waiting_request_dial() -> None:
    async with server() as (counting, target):
        p = pool(1)
        first = await p.acquire(target, 1.0)
        waiting = asyncio.ensure_future(p.acquire(target, 1.0))
        await asyncio.sleep(0.05)
        assert not waiting.done()
        p.discard(first)  # e.g. the backend broke the exchange
        second = await asyncio.wait_for(waiting, 2)
        assert second is not first
        assert p.open_count(target) == 1
        await second.close()
        assert counting.accepted == 2


@pytest.mark.parametrize("handed", ["connection", "room to dial"])
async def test_a_request_that_gives_up_waiting_passes_its_turn_on(handed: str) -> None:
    async with server() as (_counting, target):
        p = pool(1)
        holder = await p.acquire(target, 1.0)
        quitter = asyncio.ensure_future(p.acquire(target, 1.0))
        patient = asyncio.ensure_future(p.acquire(target, 1.0))
        await asyncio.sleep(0.05)
        if handed == "connection":
            p.release(holder)  # goes to the quitter, which is cancelled before it runs
        else:
            await holder.close()
        quitter.cancel()
        got: UpstreamConnection = await asyncio.wait_for(patient, 2)
        with pytest.raises(asyncio.CancelledError):
            await quitter
        assert p.open_count(target) == 1
        await got.close()
        assert p.open_count(target) == 0


async def test_a_connection_turned_into_a_tunnel_frees_its_place() -> None:
    async with server() as (_counting, target):
        p = pool(1)
        conn = await p.acquire(target, 1.0)
        conn.take_upgrade_trailing()  # after a 101 the connection belongs to the tunnel
        assert p.open_count(target) == 0
        other = await asyncio.wait_for(p.acquire(target, 1.0), 2)
        assert other is not conn
        await other.close()
        await conn.close()
        assert p.open_count(target) == 0
