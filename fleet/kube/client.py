"""A small asyncio Kubernetes client for the fleet manager.

The fleet manager needs a handful of verbs against many clusters at once:
server-side apply (also as dry-run), get, list, delete and discovery.  The
official client is synchronous, so this one speaks the REST API with aiohttp
and translates every failure into ``fleet.kube.errors``.
"""

from __future__ import annotations

import asyncio
import json
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp

from fleet.kube.errors import APIError, Unreachable, for_status
from fleet.kube.kubeconfig import ClusterAccess

Obj = dict[str, Any]


@dataclass(frozen=True, slots=True)
class ResourceInfo:
    plural: str
    namespaced: bool


def api_prefix(api_version: str) -> str:
    return "/api/v1" if api_version == "v1" else f"/apis/{api_version}"


def object_path(api_version: str, info: ResourceInfo, name: str | None, namespace: str | None) -> str:
    """The REST path of one object (or of the collection when ``name`` is None)."""
    base = api_prefix(api_version)
    if info.namespaced:
        if not namespace:
            raise ValueError(f"{info.plural} are namespaced: a namespace is required")
        base += f"/namespaces/{namespace}"
    base += f"/{info.plural}"
    return f"{base}/{name}" if name else base


class KubeClient:
    """One cluster's API server; create it inside a running event loop and close it when done."""

    def __init__(self, access: ClusterAccess, timeout: float = 10.0) -> None:
        self.access = access
        ctx = ssl.create_default_context(cadata=access.ca_pem.decode() if access.ca_pem else None)
        if access.insecure:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        if access.client_cert_file and access.client_key_file:
            ctx.load_cert_chain(access.client_cert_file, access.client_key_file)
        self._ssl = ctx
        self._timeout = aiohttp.ClientTimeout(total=timeout, sock_connect=min(timeout, 3.0))
        headers = {"Accept": "application/json", "User-Agent": "meshfleet"}
        if access.token:
            headers["Authorization"] = f"Bearer {access.token}"
        self._session = aiohttp.ClientSession(headers=headers, timeout=self._timeout,
                                              connector=aiohttp.TCPConnector(ssl=ctx, limit=16))
        self._discovery: dict[str, dict[str, ResourceInfo]] = {}
        self._discovery_lock = asyncio.Lock()

    async def close(self) -> None:
        await self._session.close()

    async def __aenter__(self) -> KubeClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # ---- transport ------------------------------------------------------------------------------

    async def request(self, method: str, path: str, *, params: Mapping[str, str] | None = None,
                      body: Obj | None = None, content_type: str = "application/json", what: str = "") -> Obj:
        text = await self._send(method, path, params=params, body=body, content_type=content_type, what=what)
        result: Obj = json.loads(text) if text else {}
        return result

    async def get_text(self, path: str, *, what: str = "") -> str:
        """A GET whose answer is not JSON: a pod's or service's page through the API server's proxy."""
        return await self._send("GET", path, what=what)

    async def _send(self, method: str, path: str, *, params: Mapping[str, str] | None = None,
                    body: Obj | None = None, content_type: str = "application/json", what: str = "") -> str:
        url = self.access.server.rstrip("/") + path
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Content-Type": content_type} if data is not None else {}
        try:
            async with self._session.request(method, url, params=params, data=data, headers=headers) as r:
                text = await r.text()
                status = r.status
        except (aiohttp.ClientError, TimeoutError, OSError, ssl.SSLError) as e:
            raise Unreachable(self.access.server, str(e) or type(e).__name__) from e
        if status >= 400:
            reason, message = "", text.strip()[:500]
            try:
                st = json.loads(text)
                reason, message = st.get("reason", ""), st.get("message", message)
            except ValueError:
                pass
            raise for_status(status)(status, reason, message, what or f"{method} {path}")
        return text

    # ---- discovery ------------------------------------------------------------------------------

    async def resource(self, api_version: str, kind: str, *, refresh: bool = False) -> ResourceInfo:
        async with self._discovery_lock:
            if refresh or api_version not in self._discovery:
                doc = await self.request("GET", api_prefix(api_version), what=f"discovery of {api_version}")
                self._discovery[api_version] = {
                    r["kind"]: ResourceInfo(r["name"], bool(r["namespaced"]))
                    for r in doc.get("resources", []) if "/" not in r["name"]
                }
            found = self._discovery[api_version].get(kind)
        if found is None:
            if not refresh:  # a CRD applied a moment ago: ask again once
                return await self.resource(api_version, kind, refresh=True)
            raise for_status(404)(404, "NotFound", f"the server has no {kind} in {api_version}", f"{kind}")
        return found

    # ---- verbs ----------------------------------------------------------------------------------

    async def apply(self, obj: Obj, field_manager: str, *, dry_run: bool = False, force: bool = True) -> Obj:
        """Server-side apply of one whole object."""
        meta = obj["metadata"]
        info = await self.resource(obj["apiVersion"], obj["kind"])
        path = object_path(obj["apiVersion"], info, meta["name"], meta.get("namespace"))
        params = {"fieldManager": field_manager, "force": "true" if force else "false"}
        if dry_run:
            params["dryRun"] = "All"
        return await self.request("PATCH", path, params=params, body=obj,
                                  content_type="application/apply-patch+yaml", what=describe(obj))

    async def get(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> Obj | None:
        info = await self.resource(api_version, kind)
        try:
            return await self.request("GET", object_path(api_version, info, name, namespace),
                                      what=f"{kind} {namespace + '/' if namespace else ''}{name}")
        except APIError as e:
            if e.status == 404:
                return None
            raise

    async def list(self, api_version: str, kind: str, namespace: str | None = None,
                   label_selector: str | None = None) -> list[Obj]:
        info = await self.resource(api_version, kind)
        base = api_prefix(api_version)
        path = f"{base}/namespaces/{namespace}/{info.plural}" if namespace and info.namespaced \
            else f"{base}/{info.plural}"
        params = {"labelSelector": label_selector} if label_selector else None
        doc = await self.request("GET", path, params=params, what=f"list {kind}")
        items: list[Obj] = doc.get("items", [])
        for item in items:  # lists leave these out of each item
            item.setdefault("apiVersion", api_version)
            item.setdefault("kind", kind)
        return items

    async def delete(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> bool:
        """Delete one object in the background; False if it was already gone."""
        info = await self.resource(api_version, kind)
        try:
            await self.request("DELETE", object_path(api_version, info, name, namespace),
                               body={"kind": "DeleteOptions", "apiVersion": "v1",
                                     "propagationPolicy": "Background"},
                               what=f"delete {kind} {name}")
        except APIError as e:
            if e.status == 404:
                return False
            raise
        return True

    async def version(self) -> Obj:
        return await self.request("GET", "/version", what="version")


def describe(obj: Mapping[str, Any]) -> str:
    meta = obj.get("metadata", {})
    ns = meta.get("namespace")
    return f"{obj.get('kind')} {ns + '/' if ns else ''}{meta.get('name')}"
