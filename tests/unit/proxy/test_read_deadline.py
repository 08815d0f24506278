"""One timer per connection bounds its reads: the deadline moves without a timer per read."""

from __future__ import annotations

import asyncio

import pytest

from mesh.proxy.netio import ReadDeadline


async def test_a_read_past_its_deadline_fails_with_timeout() -> None:
    reader = asyncio.StreamReader()
    deadline = ReadDeadline(reader, "client")
    loop = asyncio.get_running_loop()
    started = loop.time()
    deadline.set_in(0.05)
    with pytest.raises(TimeoutError):
        await reader.read(10)
    assert 0.04 <= loop.time() - started < 0.5


async def test_moving_the_deadline_later_keeps_the_read_alive() -> None:
    reader = asyncio.StreamReader()
    deadline = ReadDeadline(reader, "client")
    loop = asyncio.get_running_loop()
    deadline.set_in(0.05)
    loop.call_later(0.03, deadline.set_in, 0.1)  # activity: the deadline moves to ~0.13 s
    loop.call_later(0.09, reader.feed_data, b"late but in time")
    assert await reader.read(100) == b"late but in time"
    deadline.cancel()


async def test_an_earlier_deadline_wins_over_a_scheduled_later_one() -> None:
    reader = asyncio.StreamReader()
    deadline = ReadDeadline(reader, "client")
    loop = asyncio.get_running_loop()
    deadline.set_in(30.0)  # idle limit
    started = loop.time()
    deadline.set_in(0.05)  # a head has started: its own, shorter limit
    with pytest.raises(TimeoutError):
        await reader.read(10)
    assert loop.time() - started < 0.5


async def test_a_cleared_deadline_never_fires() -> None:
    reader = asyncio.StreamReader()
    deadline = ReadDeadline(reader, "client")
    deadline.set_in(0.02)
    deadline.clear()  # the read finished; the handler now waits on something else
    await asyncio.sleep(0.08)
    reader.feed_data(b"next request")
    assert await reader.read(100) == b"next request"
    deadline.cancel()
