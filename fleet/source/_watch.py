"""Keep a Git source up to date: poll on an interval, sync at once when triggered.

A webhook, SIGHUP or a person asking calls :meth:`SourceWatcher.trigger`;
the loop then syncs without waiting out the interval.  A trigger that lands
while a sync is running is not lost: it causes one more sync right after.
The callback runs only for a revision not delivered before, so a quiet
repository costs one fetch per interval and nothing else.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from fleet.errors import SourceError
from fleet.source._git import GitSource, Snapshot

DEFAULT_POLL_INTERVAL = 30.0

log = logging.getLogger(__name__)


class SourceWatcher:
    """Deliver each new revision of ``source`` to ``on_revision``, polling every ``interval`` seconds.

    Fetch failures are logged and passed to ``on_error``; the loop keeps going
    and the last delivered revision stays current.  Exceptions raised by
    ``on_revision`` end :meth:`run`: handling its own failures is the
    callback's job, and hiding a bug there would stall the fleet silently.
    """

    def __init__(
        self,
        source: GitSource,
        on_revision: Callable[[Snapshot], Awaitable[None]],
        *,
        interval: float = DEFAULT_POLL_INTERVAL,
        on_error: Callable[[SourceError], None] | None = None,
    ) -> None:
        if interval <= 0:
            raise ValueError("the poll interval must be positive")
        self.source = source
        self.interval = interval
        self.last_revision: str | None = None
        self.last_error: SourceError | None = None
        self._on_revision = on_revision
        self._on_error = on_error
        self._wake = asyncio.Event()

    def trigger(self) -> None:
        """Sync as soon as possible (safe to call from the event loop's thread only)."""
        self._wake.set()

    async def poll_once(self) -> Snapshot | None:
        """Sync once; deliver and return the snapshot if its revision is new, else None."""
        try:
            snapshot = await self.source.sync_async()
        except SourceError as e:
            self.last_error = e
            log.warning("sync of %r failed: %s", self.source, e)
            if self._on_error is not None:
                self._on_error(e)
            return None
        self.last_error = None
        if snapshot.revision == self.last_revision:
            return None
        self.last_revision = snapshot.revision
        await self._on_revision(snapshot)
        return snapshot

    async def run(self) -> None:
        """Poll until cancelled."""
        while True:
            # Cleared before the sync, so a trigger arriving during it wakes the next wait at once.
            self._wake.clear()
            await self.poll_once()
            try:
                async with asyncio.timeout(self.interval):
                    await self._wake.wait()
            except TimeoutError:
                pass
