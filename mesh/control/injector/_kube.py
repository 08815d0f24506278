"""The control plane's Kubernetes client, with the few writes the trust bundle copies need.

Reads, watches, credentials and the connection pool are the destination
service's ``KubeReader``; this adds create, replace and delete on the same
session and the same time limit; a caller with a tighter deadline (an
admission review) wraps the call in ``asyncio.timeout``.
"""

from __future__ import annotations

import json
from typing import Any

import aiohttp

from mesh.control.destination import KubeReader
from mesh.control.destination.errors import ApiError

Obj = dict[str, Any]


class KubeClient(KubeReader):
    async def _send(self, method: str, path: str, body: Obj | None) -> Obj:
        headers = {**self._headers(), "Content-Type": "application/json"}
        try:
            async with self._client().request(
                method,
                self._creds.server + path,
                data=json.dumps(body) if body is not None else None,
                headers=headers,
                ssl=self._ssl,
                timeout=aiohttp.ClientTimeout(total=self._timeout),
            ) as resp:
                raw = await resp.read()
                if resp.status not in (200, 201, 202):
                    raise ApiError(f"{method} {path}: HTTP {resp.status}{_reason(raw)}", resp.status)
        except (aiohttp.ClientError, TimeoutError, OSError) as e:
            raise ApiError(f"{method} {path}: the API server is unreachable: {type(e).__name__}") from e
        try:
            answer = json.loads(raw) if raw else {}
        except ValueError as e:
            raise ApiError(f"{method} {path}: the answer is not JSON") from e
        return answer if isinstance(answer, dict) else {}

    async def create(self, collection: str, body: Obj) -> Obj:
        """POST ``body`` into ``collection`` (e.g. /api/v1/namespaces/x/configmaps); 409 if it exists."""
        return await self._send("POST", collection, body)

    async def replace(self, path: str, body: Obj) -> Obj:
        """PUT ``body``; with a resourceVersion in it, 409 if the object changed since."""
        return await self._send("PUT", path, body)

    async def delete(self, path: str, resource_version: str = "") -> None:
        """DELETE, only if the object is still at ``resource_version`` when one is given."""
        options: Obj = {"apiVersion": "v1", "kind": "DeleteOptions"}
        if resource_version:
            options["preconditions"] = {"resourceVersion": resource_version}
        await self._send("DELETE", path, options)


def _reason(raw: bytes) -> str:
    """The API server's one-line reason (a Status message), which names the object and why."""
    try:
        message = json.loads(raw).get("message")
    except (ValueError, AttributeError):
        return ""
    return f" ({str(message)[:200]})" if message else ""
