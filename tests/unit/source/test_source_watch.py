"""The watcher delivers each new revision once, on its poll or at once when triggered."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from source_repos import Upstream

from fleet.errors import SourceError
from fleet.source import GitSource, Snapshot, SourceWatcher


@contextlib.asynccontextmanager
async def running(watcher: SourceWatcher) -> AsyncIterator[None]:
    task = asyncio.create_task(watcher.run())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def next_revision(queue: asyncio.Queue[str]) -> str:
    async with asyncio.timeout(10):
        return await queue.get()


async def test_polling_detects_a_new_commit(upstream: Upstream, cache: Path) -> None:
    first = upstream.commit({"fleet.yaml": "1\n"})
    seen: asyncio.Queue[str] = asyncio.Queue()

    async def deliver(snapshot: Snapshot) -> None:
        await seen.put(snapshot.revision)

    watcher = SourceWatcher(GitSource(str(upstream.path), cache=cache), deliver, interval=0.05)
    async with running(watcher):
        assert await next_revision(seen) == first
        second = upstream.commit({"fleet.yaml": "2\n"})
        assert await next_revision(seen) == second
        await asyncio.sleep(0.3)  # several more polls of an unchanged branch
    assert seen.empty()
    assert watcher.last_revision == second


async def test_a_trigger_syncs_without_waiting_for_the_interval(upstream: Upstream, cache: Path) -> None:
    upstream.commit({"fleet.yaml": "1\n"})
    seen: asyncio.Queue[str] = asyncio.Queue()

    async def deliver(snapshot: Snapshot) -> None:
        await seen.put(snapshot.revision)

    watcher = SourceWatcher(GitSource(str(upstream.path), cache=cache), deliver, interval=3600)
    async with running(watcher):
        await next_revision(seen)
        second = upstream.commit({"fleet.yaml": "2\n"})
        watcher.trigger()
        async with asyncio.timeout(5):  # far shorter than the hour-long interval
            assert await seen.get() == second


async def test_fetch_failures_are_reported_and_polling_continues(tmp_path: Path, cache: Path) -> None:
    errors: list[SourceError] = []
    delivered: list[str] = []

    async def deliver(snapshot: Snapshot) -> None:
        delivered.append(snapshot.revision)

    watcher = SourceWatcher(
        GitSource(str(tmp_path / "not-yet"), cache=cache), deliver, interval=0.05, on_error=errors.append
    )
    assert await watcher.poll_once() is None
    assert len(errors) == 1
    assert watcher.last_error is errors[0]

    upstream = Upstream(tmp_path / "not-yet")
    revision = upstream.commit({"fleet.yaml": "1\n"})
    snapshot = await watcher.poll_once()
    assert snapshot is not None
    assert delivered == [revision]
    assert watcher.last_error is None


def test_the_interval_must_be_positive(cache: Path) -> None:
    async def deliver(snapshot: Snapshot) -> None:
        raise AssertionError("never called")

    with pytest.raises(ValueError, match="positive"):
        SourceWatcher(GitSource("/nowhere", cache=cache), deliver, interval=0)
