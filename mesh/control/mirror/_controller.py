"""The service mirror's I/O: watches on both clusters feed :func:`plan_link`, whose writes are sent here.

Watches, not polling: the control plane's ``KubeReader.list_watch`` already
lists again after a gap or an expired resourceVersion and hands over the
complete set, so a watch is as robust as a poll and a change reaches the
mirrors in well under a second instead of a poll period. A resync timer
(``resync``) replans anyway, which retries failed writes and looks the
gateway's DNS name up again.

Watched in the local cluster: the one Link (by name, in the mesh
namespace), every Service (a Service named like a mirror but not ours must
be seen to be left alone), the EndpointSlices labelled as the mirror's, and
namespaces. In the target cluster: every Service (the selector is matched
here, so editing it in the Link needs no new watch) and the EndpointSlices
of the mesh namespace's ``gateway`` Service.

Nothing is planned until every watch it depends on has listed, so a mirror
is never deleted for want of a remote Service not yet seen; and a target
cluster that cannot be reached leaves the mirrors as they were. Only the
Link's removal is acted on without the target cluster: its mirrors go.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from mesh.control.destination import KubeReader
from mesh.control.destination.errors import ApiError as KubeApiError
from mesh.control.injector import KubeClient

from ._plan import (
    GATEWAY_SERVICE,
    SERVICE_NAME_LABEL,
    SLICE_MANAGED_BY,
    SLICE_MANAGED_BY_LABEL,
    Action,
    CreateNamespace,
    CreateObject,
    DeleteObject,
    Key,
    Kind,
    LocalObject,
    NamespaceView,
    Plan,
    RemoteService,
    ReplaceObject,
    Skipped,
    gateway_ips,
    local_object,
    namespace_view,
    plan_link,
    remote_service,
    slice_addresses,
)
from ._spec import LINK_API_VERSION, LinkSpec, parse_link
from .errors import ApiError, InvalidLink

log = logging.getLogger(__name__)

Obj = dict[str, Any]
Resolver = Callable[[str], Awaitable[Sequence[str]]]

_LINK, _SERVICES, _SLICES, _NAMESPACES = "link", "local-services", "local-slices", "namespaces"
_REMOTE_SERVICES, _GATEWAY = "remote-services", "remote-gateway"
_LOCAL = frozenset({_LINK, _SERVICES, _SLICES, _NAMESPACES})
_REMOTE = frozenset({_REMOTE_SERVICES, _GATEWAY})


def _collection(kind: Kind, namespace: str) -> str:
    if kind == "Service":
        return f"/api/v1/namespaces/{namespace}/services"
    return f"/apis/discovery.k8s.io/v1/namespaces/{namespace}/endpointslices"


async def resolve_ipv4(host: str) -> list[str]:
    """The IPv4 addresses ``host`` resolves to, through the running loop's resolver."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, None, family=socket.AF_INET, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


class MirrorController:
    """Keeps the local cluster's mirrors of one Link's target cluster current, until stopped."""

    def __init__(
        self,
        local: KubeClient,
        remote: KubeReader,
        link: str,
        mesh_namespace: str = "meshfleet",
        *,
        resync: float = 10.0,
        resolve: Resolver = resolve_ipv4,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.local = local
        self.remote = remote
        self.link_name = link
        self.mesh_namespace = mesh_namespace
        self._resync = resync
        self._resolve = resolve
        self._clock = clock
        self.link: Obj | None = None
        self.services: dict[Key, LocalObject] = {}
        self.slices: dict[Key, LocalObject] = {}
        self.namespaces: dict[str, NamespaceView] = {}
        self.remote_services: dict[Key, RemoteService] = {}
        self.gateway_slices: dict[str, tuple[str, ...]] = {}
        # Every target this Link has named since start: an edit of targetClusterName retires the old mirrors.
        self.clusters: set[str] = set()
        self._resolved: tuple[str, tuple[str, ...], float] | None = None  # host, addresses, when
        self._listed: set[str] = set()
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._reported: set[str] = set()
        self.writes = 0  # successful writes, for tests and logs

    # -- what the watches say ---------------------------------------------------------------

    def _changed(self, collection: str) -> None:
        self._listed.add(collection)
        self._wake.set()

    def _reset_link(self, items: list[Obj]) -> None:
        found = [i for i in items if (i.get("metadata") or {}).get("name") == self.link_name]
        self.link = found[0] if found else None
        self._changed(_LINK)

    def _link_event(self, kind: str, obj: Obj) -> None:
        if (obj.get("metadata") or {}).get("name") == self.link_name:
            self.link = None if kind == "DELETED" else obj
        self._changed(_LINK)

    def _reset_objects(self, store: dict[Key, LocalObject], collection: str, items: list[Obj]) -> None:
        store.clear()
        for obj in map(local_object, items):
            store[obj.key] = obj
        self._changed(collection)

    def _object_event(self, store: dict[Key, LocalObject], collection: str, kind: str, obj: Obj) -> None:
        view = local_object(obj)
        if kind == "DELETED":
            store.pop(view.key, None)
        else:
            store[view.key] = view
        self._changed(collection)

    def _reset_namespaces(self, items: list[Obj]) -> None:
        self.namespaces = {v.name: v for v in map(namespace_view, items)}
        self._changed(_NAMESPACES)

    def _namespace_event(self, kind: str, obj: Obj) -> None:
        view = namespace_view(obj)
        if kind == "DELETED":
            self.namespaces.pop(view.name, None)
        else:
            self.namespaces[view.name] = view
        self._changed(_NAMESPACES)

    def _reset_remote_services(self, items: list[Obj]) -> None:
        self.remote_services = {(v.namespace, v.name): v for v in map(remote_service, items)}
        self._changed(_REMOTE_SERVICES)

    def _remote_service_event(self, kind: str, obj: Obj) -> None:
        view = remote_service(obj)
        if kind == "DELETED":
            self.remote_services.pop((view.namespace, view.name), None)
        else:
            self.remote_services[(view.namespace, view.name)] = view
        self._changed(_REMOTE_SERVICES)

    def _reset_gateway(self, items: list[Obj]) -> None:
        self.gateway_slices = {str((i.get("metadata") or {}).get("name", "")): slice_addresses(i) for i in items}
        self._changed(_GATEWAY)

    def _gateway_event(self, kind: str, obj: Obj) -> None:
        name = str((obj.get("metadata") or {}).get("name", ""))
        if kind == "DELETED":
            self.gateway_slices.pop(name, None)
        else:
            self.gateway_slices[name] = slice_addresses(obj)
        self._changed(_GATEWAY)

    # -- planning -----------------------------------------------------------------------------

    @property
    def synced(self) -> bool:
        """Every watch has listed at least once."""
        return self._listed >= _LOCAL | _REMOTE

    def _parsed_link(self) -> LinkSpec | None:
        if self.link is None:
            return None
        if self.link.get("apiVersion") not in (None, LINK_API_VERSION):
            raise InvalidLink(f"{self.mesh_namespace}/{self.link_name}", "apiVersion",
                              f"{self.link.get('apiVersion')!r} is not {LINK_API_VERSION}")
        return parse_link(self.link)

    async def _gateway_ips(self, link: LinkSpec) -> tuple[str, ...]:
        host = link.gateway_hostname
        if host is None:
            return gateway_ips(link, self.gateway_slices.values())
        cached = self._resolved
        if cached is None or cached[0] != host or self._clock() - cached[2] >= self._resync:
            try:
                addresses = tuple(await self._resolve(host))
            except OSError as e:
                # Keep the last answer: a resolver hiccup should not empty every mirror's endpoints.
                log.warning("Link %s: cannot resolve gatewayAddress %s: %s", link.name, host, e)
                addresses = cached[1] if cached is not None and cached[0] == host else ()
            self._resolved = cached = (host, addresses, self._clock())
        return gateway_ips(link, (), cached[1])

    async def plan(self) -> Plan | None:
        """The writes to send now; None while the watches it needs have not all listed, or the Link is bad."""
        if not self._listed >= _LOCAL:
            return None
        try:
            link = self._parsed_link()
        except InvalidLink as e:
            self._report(f"{e}; its mirrors are left as they are", logging.ERROR)
            return None
        if link is None:
            # Never seen since start (removed while the mirror was down): the rendered Links are named
            # after their target cluster, so that is whose mirrors to remove.
            owned = self.clusters or {self.link_name}
            return plan_link(None, owned, (), (), self.services, self.slices, self.namespaces)
        if not self._listed >= _REMOTE:
            return None
        self.clusters.add(link.target_cluster)
        gateway = await self._gateway_ips(link)
        if not gateway:
            self._report(f"Link {link.name}: no ready address for the gateway of cluster {link.target_cluster}; "
                         "mirrors have no endpoints", logging.WARNING)
        return plan_link(link, self.clusters, self.remote_services.values(), gateway,
                         self.services, self.slices, self.namespaces)

    def _report(self, message: str, level: int) -> None:
        """Log a standing condition once, not at every resync."""
        if message not in self._reported:
            self._reported.add(message)
            log.log(level, "%s", message)

    def _report_skipped(self, skipped: tuple[Skipped, ...]) -> None:
        for s in skipped:
            self._report(f"{s.namespace}/{s.name} is not mirrored: {s.reason}", logging.WARNING)

    # -- writing ------------------------------------------------------------------------------

    def _remember(self, kind: Kind, answer: Obj) -> None:
        # The answer is what the watch will show next; planning on it at once avoids writing twice.
        if answer.get("metadata"):
            view = local_object(answer)
            (self.services if kind == "Service" else self.slices)[view.key] = view

    async def _apply(self, action: Action) -> None:
        try:
            if isinstance(action, CreateNamespace):
                await self.local.create("/api/v1/namespaces", action.body)
                self.namespaces[action.name] = NamespaceView(action.name, False)
                log.info("namespace %s created for mirrors", action.name)
            elif isinstance(action, CreateObject):
                self._remember(action.kind, await self.local.create(_collection(action.kind, action.namespace),
                                                                    action.body))
                log.info("%s %s/%s created", action.kind, action.namespace, action.name)
            elif isinstance(action, ReplaceObject):
                path = f"{_collection(action.kind, action.namespace)}/{action.name}"
                self._remember(action.kind, await self.local.replace(path, action.body))
                log.info("%s %s/%s updated", action.kind, action.namespace, action.name)
            elif isinstance(action, DeleteObject):
                path = f"{_collection(action.kind, action.namespace)}/{action.name}"
                await self.local.delete(path, action.resource_version)
                (self.services if action.kind == "Service" else self.slices).pop((action.namespace, action.name), None)
                log.info("%s %s/%s deleted", action.kind, action.namespace, action.name)
        except KubeApiError as e:
            raise ApiError(str(e), cluster="local", status=e.status) from e
        self.writes += 1

    async def sync_once(self) -> bool:
        """Plan and send every write; True when all of them succeeded (or there was nothing to do)."""
        plan = await self.plan()
        if plan is None:
            return True
        self._report_skipped(plan.skipped)
        ok = True
        for action in plan.actions:
            try:
                await self._apply(action)
            except ApiError as e:
                if isinstance(action, CreateNamespace) and e.status == 409:
                    continue  # created meanwhile; the namespace watch will say so
                # 404/409: the cluster moved on since the watch spoke; its next event replans.
                ok = False
                log.log(logging.DEBUG if e.status in (404, 409) else logging.WARNING, "mirror: %s", e)
        return ok

    async def _loop(self) -> None:
        failures = 0
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._resync)
            self._wake.clear()
            if await self.sync_once():
                failures = 0
                continue
            failures += 1
            # Back off, up to the resync period, before trying the failed writes again.
            await asyncio.sleep(min(self._resync, 0.25 * 2**failures))
            self._wake.set()

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self) -> None:
        ns = self.mesh_namespace
        link_path = (f"/apis/{LINK_API_VERSION}/namespaces/{ns}/links"
                     f"?fieldSelector=metadata.name%3D{self.link_name}")
        our_slices = (f"/apis/discovery.k8s.io/v1/endpointslices"
                      f"?labelSelector={SLICE_MANAGED_BY_LABEL}%3D{SLICE_MANAGED_BY}")
        gateway = (f"/apis/discovery.k8s.io/v1/namespaces/{ns}/endpointslices"
                   f"?labelSelector={SERVICE_NAME_LABEL}%3D{GATEWAY_SERVICE}")
        watches: list[tuple[KubeReader, str, Callable[[list[Obj]], None], Callable[[str, Obj], None]]] = [
            (self.local, link_path, self._reset_link, self._link_event),
            (self.local, "/api/v1/services",
             lambda items: self._reset_objects(self.services, _SERVICES, items),
             lambda kind, obj: self._object_event(self.services, _SERVICES, kind, obj)),
            (self.local, our_slices,
             lambda items: self._reset_objects(self.slices, _SLICES, items),
             lambda kind, obj: self._object_event(self.slices, _SLICES, kind, obj)),
            (self.local, "/api/v1/namespaces", self._reset_namespaces, self._namespace_event),
            (self.remote, "/api/v1/services", self._reset_remote_services, self._remote_service_event),
            (self.remote, gateway, self._reset_gateway, self._gateway_event),
        ]
        self._tasks = [
            asyncio.create_task(kube.list_watch(path, reset, event), name=f"mirror-watch {path}")
            for kube, path, reset, event in watches
        ]
        self._tasks.append(asyncio.create_task(self._loop(), name="mirror-sync"))

    async def stop(self) -> None:
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
