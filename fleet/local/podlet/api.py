"""A small asyncio client for the Kubernetes API (aiohttp, client-certificate auth).

Only what the podlet needs: get, create, patch, delete, list and watch with
resourceVersion.  HTTP failures become ``ApiError`` subclasses here, at the
boundary, so the rest of the podlet never sees aiohttp's exceptions.
"""

from __future__ import annotations

import asyncio
import json
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp

from fleet.local.podlet.errors import ApiError, Conflict, Gone, NotFound

Obj = dict[str, Any]


def _error(status: int, body: str) -> ApiError:
    try:
        message = str(json.loads(body).get("message", body))
    except ValueError:
        message = body[:300]
    cls = {404: NotFound, 409: Conflict, 410: Gone}.get(status, ApiError)
    return cls(status, message)


class Kube:
    def __init__(self, server: str, ca: Path, cert: Path, key: Path) -> None:
        self.server = server.rstrip("/")
        self._ssl = ssl.create_default_context(cafile=str(ca))
        self._ssl.load_cert_chain(str(cert), str(key))
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> Kube:
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=None, sock_connect=10))
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._session is not None:
            await self._session.close()

    @property
    def session(self) -> aiohttp.ClientSession:
        assert self._session is not None, "use Kube as an async context manager"
        return self._session

    async def request(self, method: str, path: str, body: Obj | None = None, params: dict[str, str] | None = None,
                      content_type: str = "application/json") -> Obj:
        headers = {"Accept": "application/json"}
        data = None
        if body is not None:
            headers["Content-Type"] = content_type
            data = json.dumps(body)
        try:
            async with self.session.request(method, self.server + path, data=data, params=params, headers=headers,
                                            ssl=self._ssl, timeout=aiohttp.ClientTimeout(total=30)) as r:
                text = await r.text()
                if r.status >= 400:
                    raise _error(r.status, text)
                return json.loads(text) if text else {}
        except (aiohttp.ClientError, TimeoutError, OSError) as e:
            raise ApiError(0, f"{method} {path}: {e or type(e).__name__}") from e

    async def get(self, path: str) -> Obj:
        return await self.request("GET", path)

    async def create(self, path: str, body: Obj) -> Obj:
        return await self.request("POST", path, body)

    async def merge_patch(self, path: str, body: Obj) -> Obj:
        return await self.request("PATCH", path, body, content_type="application/merge-patch+json")

    async def delete(self, path: str, body: Obj | None = None) -> Obj:
        return await self.request("DELETE", path, body)

    async def watch(self, path: str, params: dict[str, str], resource_version: str) -> AsyncIterator[tuple[str, Obj]]:
        """Events after ``resource_version``; raises ``Gone`` when it is too old to watch from."""
        query = {**params, "watch": "1", "resourceVersion": resource_version, "allowWatchBookmarks": "true",
                 "timeoutSeconds": "240"}
        try:
            async with self.session.get(self.server + path, params=query, ssl=self._ssl,
                                        timeout=aiohttp.ClientTimeout(total=300, sock_read=290)) as r:
                if r.status >= 400:
                    raise _error(r.status, await r.text())
                async for line in r.content:
                    if not line.strip():
                        continue
                    event = json.loads(line)
                    if event.get("type") == "ERROR":
                        status = event.get("object") or {}
                        raise _error(int(status.get("code", 500)), json.dumps(status))
                    yield str(event["type"]), event["object"]
        except (aiohttp.ClientError, TimeoutError, OSError) as e:
            raise ApiError(0, f"watch {path}: {e or type(e).__name__}") from e


async def reflect(kube: Kube, path: str, params: dict[str, str],
                  on_list: Callable[[list[Obj]], Awaitable[None]],
                  on_event: Callable[[str, Obj], Awaitable[None]],
                  on_error: Callable[[str], None]) -> None:
    """List then watch ``path`` forever, relisting whenever the watch cannot continue."""
    delay = 0.5
    while True:
        try:
            listing = await kube.request("GET", path, params=params)
            rv = str(listing["metadata"]["resourceVersion"])
            await on_list(list(listing.get("items") or []))
            delay = 0.5
            while True:
                async for kind, obj in kube.watch(path, params, rv):
                    rv = str(obj.get("metadata", {}).get("resourceVersion", rv))
                    if kind != "BOOKMARK":
                        await on_event(kind, obj)
        except Gone:
            continue
        except ApiError as e:
            on_error(f"{path}: {e}")
            await asyncio.sleep(delay)
            delay = min(delay * 2, 10.0)
