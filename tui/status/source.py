"""Where the fleet status comes from: a small client protocol and its JSON-document implementation.

The dashboard depends on :class:`StatusSource` only, so the reconciler can later offer another
transport without the screens noticing.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Protocol

import aiohttp

from tui.errors import StatusUnavailable
from tui.status.document import parse_status_text
from tui.status.model import FleetStatus


class StatusSource(Protocol):
    """Anything that can produce the current fleet status."""

    @property
    def origin(self) -> str:
        """The path or URL, for messages."""
        ...

    async def fetch(self) -> FleetStatus:
        """Return the current status or raise :class:`~tui.errors.StatusError`."""
        ...


class JsonDocumentSource:
    """Reads the status document from a file path or an ``http(s)://`` URL on every fetch."""

    def __init__(self, location: str, timeout: float = 2.0) -> None:
        self._location = location
        self._timeout = timeout

    @property
    def origin(self) -> str:
        return self._location

    @property
    def is_url(self) -> bool:
        return self._location.startswith(("http://", "https://"))

    async def fetch(self) -> FleetStatus:
        body = await (self._get_url() if self.is_url else self._read_file())
        return parse_status_text(body, self._location)

    async def _read_file(self) -> bytes:
        try:
            # A status file is small; a thread keeps a slow disk from stalling the UI loop.
            return await asyncio.to_thread(Path(self._location).read_bytes)
        except OSError as e:
            raise StatusUnavailable(f"{self._location}: {e.strerror or e}") from e

    async def _get_url(self) -> bytes:
        timeout = aiohttp.ClientTimeout(total=self._timeout)
        try:
            async with aiohttp.ClientSession(timeout=timeout) as session, \
                    session.get(self._location) as resp:
                if resp.status != 200:
                    raise StatusUnavailable(f"{self._location}: HTTP {resp.status}")
                return await resp.read()
        except (aiohttp.ClientError, TimeoutError) as e:
            raise StatusUnavailable(f"{self._location}: {_describe(e)}") from e


def _describe(e: BaseException) -> str:
    if isinstance(e, TimeoutError):
        return "timed out"
    return str(e) or type(e).__name__
