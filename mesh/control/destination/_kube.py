"""A small asyncio client of the Kubernetes API: GET, and list-then-watch by resourceVersion.

Credentials come from ``mesh.control.identity`` (kubeconfig or in-cluster).
A watch resumes from the last resourceVersion it saw (bookmarks included);
when the API server says that version is gone (410) the collection is
listed again and the consumer is handed the complete new set, so nothing
missed during a gap survives as stale state.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import shutil
import ssl
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp

from mesh.control.identity import ApiCredentials

from .errors import ApiError, WatchExpired

log = logging.getLogger(__name__)

Obj = dict[str, Any]
ResetHandler = Callable[[list[Obj]], None]
EventHandler = Callable[[str, Obj], None]

_SCRATCH = Path("/dev/shm")


def _load_client_pair(ctx: ssl.SSLContext, cert_pem: bytes, key_pem: bytes) -> None:
    # load_cert_chain reads files only: the key lives in a 0600 file inside a 0700
    # directory (memory-backed where possible) for the duration of the call.
    parent = _SCRATCH if _SCRATCH.is_dir() and os.access(_SCRATCH, os.W_OK) else None
    workdir = Path(tempfile.mkdtemp(prefix="meshfleet-kube-", dir=parent))
    try:
        cert, key = workdir / "c.pem", workdir / "k.pem"
        cert.write_bytes(cert_pem)
        fd = os.open(key, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(key_pem)
        ctx.load_cert_chain(cert, key)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def api_ssl_context(creds: ApiCredentials) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cadata=creds.ca_pem.decode() if creds.ca_pem else None)
    if creds.insecure:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    if creds.client_cert_pem and creds.client_key_pem:
        _load_client_pair(ctx, creds.client_cert_pem, creds.client_key_pem)
    return ctx


class KubeReader:
    """Read-only access: ``get`` and ``list_watch``."""

    def __init__(self, creds: ApiCredentials, *, timeout: float = 10.0) -> None:
        self._creds = creds
        self._ssl = api_ssl_context(creds)
        self._timeout = timeout
        self._session: aiohttp.ClientSession | None = None

    def _headers(self) -> dict[str, str]:
        headers = {"Accept": "application/json"}
        token = self._creds.token
        if self._creds.token_file is not None:
            try:
                token = self._creds.token_file.read_text().strip()
            except OSError as e:
                raise ApiError(f"cannot read the API token {self._creds.token_file}: {e.strerror}") from e
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return headers

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession()
        return self._session

    async def get(self, path: str, params: dict[str, str] | None = None) -> Obj:
        try:
            async with self._client().get(
                self._creds.server + path,
                params=params,
                headers=self._headers(),
                ssl=self._ssl,
                timeout=aiohttp.ClientTimeout(total=self._timeout),
            ) as resp:
                body = await resp.read()
                if resp.status != 200:
                    raise ApiError(f"GET {path}: HTTP {resp.status}", resp.status)
                data = json.loads(body)
        except (aiohttp.ClientError, TimeoutError, OSError) as e:
            raise ApiError(f"GET {path}: the API server is unreachable: {type(e).__name__}") from e
        except ValueError as e:
            raise ApiError(f"GET {path}: the answer is not JSON") from e
        if not isinstance(data, dict):
            raise ApiError(f"GET {path}: the answer is not an object")
        return data

    async def _watch_once(self, path: str, version: str, on_event: EventHandler) -> str:
        """Stream events from ``version`` until the server ends the watch; the last version seen."""
        params = {
            "watch": "1",
            "resourceVersion": version,
            "allowWatchBookmarks": "true",
            "timeoutSeconds": "290",
        }
        try:
            async with self._client().get(
                self._creds.server + path,
                params=params,
                headers=self._headers(),
                ssl=self._ssl,
                timeout=aiohttp.ClientTimeout(total=None, sock_connect=self._timeout, sock_read=330),
            ) as resp:
                if resp.status == 410:
                    raise WatchExpired(f"watch {path}: resourceVersion {version} expired", 410)
                if resp.status != 200:
                    raise ApiError(f"watch {path}: HTTP {resp.status}", resp.status)
                while True:
                    line = await resp.content.readline()
                    if not line:
                        return version
                    if not line.strip():
                        continue
                    event = json.loads(line)
                    kind = event.get("type")
                    obj = event.get("object") or {}
                    if kind == "ERROR":
                        if obj.get("code") == 410:
                            raise WatchExpired(f"watch {path}: {obj.get('message', 'expired')}", 410)
                        raise ApiError(f"watch {path}: {obj.get('message', 'error event')}", obj.get("code"))
                    version = str((obj.get("metadata") or {}).get("resourceVersion") or version)
                    if kind in ("ADDED", "MODIFIED", "DELETED"):
                        on_event(kind, obj)
        except (aiohttp.ClientError, OSError) as e:
            raise ApiError(f"watch {path}: connection lost: {type(e).__name__}") from e
        except ValueError as e:
            raise ApiError(f"watch {path}: an event is not JSON") from e

    async def list_watch(
        self,
        path: str,
        on_reset: ResetHandler,
        on_event: EventHandler,
        *,
        retry_delay: Callable[[int], float] = lambda n: min(30.0, 0.5 * 2 ** min(n, 6)),
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        """List, hand over the whole set, then follow changes; forever, until cancelled."""
        failures = 0
        while True:
            try:
                listed = await self.get(path)
                version = str((listed.get("metadata") or {}).get("resourceVersion") or "")
                on_reset(list(listed.get("items") or []))
                failures = 0
                while True:
                    version = await self._watch_once(path, version, on_event)
            except WatchExpired:
                log.info("%s: watch expired, listing again", path)
                continue
            except ApiError as e:
                failures += 1
                # 404 is normal for the policy CRDs before they are installed: keep polling quietly.
                level = logging.DEBUG if e.status == 404 else logging.WARNING
                log.log(level, "%s: %s; retrying", path, e)
                if e.status == 404:
                    on_reset([])
                await sleep(retry_delay(failures))

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
