"""Keeps the trust bundle copies current: three watches feed ``plan_copies``, whose writes are sent here.

Watched: namespaces (who asks for injection), pods (who runs meshed pods:
only the namespace and name of meshed ones are kept), and every ConfigMap
named like the bundle (the source and all copies, in one field-selected
watch). Any change wakes the loop; it plans only once all three have been
listed, so a copy is never deleted for want of a pod not yet seen. A write
that fails is retried on the next wake-up, at the latest after ``resync``.

``ensure`` is the admission path: a pod meshed into a namespace without a
bundle gets the copy created before the review is answered, so its proxy
can mount it at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import Any

from mesh.control.destination.errors import ApiError

from ._bundle_copies import (
    BundleScope,
    BundleView,
    CopyAction,
    CreateCopy,
    DeleteCopy,
    NamespaceView,
    ReplaceCopy,
    bundle_view,
    desired_copy,
    is_meshed_pod,
    namespace_view,
    plan_copies,
)
from ._kube import KubeClient

log = logging.getLogger(__name__)

Obj = dict[str, Any]
_NAMESPACES, _PODS, _BUNDLES = "namespaces", "pods", "bundles"


class TrustBundleSync:
    def __init__(
        self,
        kube: KubeClient,
        scope: BundleScope,
        *,
        resync: float = 30.0,
        hold: float = 120.0,
        admission_timeout: float = 3.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.kube = kube
        self.scope = scope
        self._resync = resync
        self._hold = hold
        self._admission_timeout = admission_timeout
        self._clock = clock
        self.namespaces: dict[str, NamespaceView] = {}
        self.meshed: dict[str, set[str]] = {}  # namespace -> names of its meshed pods
        self.bundles: dict[str, BundleView] = {}
        self._admitted: dict[str, float] = {}  # namespace -> when a pod was last meshed into it
        self._listed: set[str] = set()
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._creating: dict[str, asyncio.Task[str | None]] = {}
        self.writes = 0  # successful writes, for tests and logs

    # -- what the watches say -------------------------------------------------------------

    def _changed(self, collection: str) -> None:
        self._listed.add(collection)
        self._wake.set()

    def _reset_namespaces(self, items: list[Obj]) -> None:
        self.namespaces = {v.name: v for v in map(namespace_view, items) if v.name}
        self._changed(_NAMESPACES)

    def _namespace_event(self, kind: str, obj: Obj) -> None:
        view = namespace_view(obj)
        if kind == "DELETED":
            self.namespaces.pop(view.name, None)
        else:
            self.namespaces[view.name] = view
        self._changed(_NAMESPACES)

    def _reset_pods(self, items: list[Obj]) -> None:
        self.meshed = {}
        for pod in items:
            self._pod_event("ADDED", pod)
        self._changed(_PODS)

    def _pod_event(self, kind: str, obj: Obj) -> None:
        meta = obj.get("metadata") or {}
        ns, name = str(meta.get("namespace", "")), str(meta.get("name", ""))
        pods = self.meshed.get(ns, set())
        meshed = kind != "DELETED" and is_meshed_pod(obj)
        if meshed == (name in pods):
            return  # most events are status updates that change nothing here: no plan for them
        if meshed:
            self.meshed.setdefault(ns, set()).add(name)
        else:
            pods.discard(name)
            if not pods:
                self.meshed.pop(ns, None)
        self._wake.set()

    def _reset_bundles(self, items: list[Obj]) -> None:
        self.bundles = {v.namespace: v for v in map(bundle_view, items)}
        self._changed(_BUNDLES)

    def _bundle_event(self, kind: str, obj: Obj) -> None:
        view = bundle_view(obj)
        if kind == "DELETED":
            self.bundles.pop(view.namespace, None)
        else:
            self.bundles[view.namespace] = view
        self._changed(_BUNDLES)

    # -- planning and writing ---------------------------------------------------------------

    @property
    def synced(self) -> bool:
        return self._listed >= {_NAMESPACES, _PODS, _BUNDLES}

    @property
    def source(self) -> BundleView | None:
        return self.bundles.get(self.scope.mesh_namespace)

    def _held(self) -> frozenset[str]:
        now = self._clock()
        self._admitted = {ns: t for ns, t in self._admitted.items() if now - t < self._hold}
        return frozenset(self._admitted)

    def plan(self) -> tuple[CopyAction, ...]:
        if not self.synced:
            return ()
        return plan_copies(self.scope, self.source, self.namespaces, set(self.meshed), self.bundles, self._held())

    def _path(self, namespace: str) -> str:
        return f"/api/v1/namespaces/{namespace}/configmaps"

    async def _apply(self, action: CopyAction) -> None:
        if isinstance(action, CreateCopy):
            await self.kube.create(self._path(action.namespace), action.body)
            log.info("trust bundle copied into namespace %s", action.namespace)
        elif isinstance(action, ReplaceCopy):
            await self.kube.replace(f"{self._path(action.namespace)}/{self.scope.name}", action.body)
            log.info("trust bundle copy in namespace %s updated from %s", action.namespace, self.scope.source_ref)
        elif isinstance(action, DeleteCopy):
            await self.kube.delete(f"{self._path(action.namespace)}/{self.scope.name}", action.resource_version)
            log.info("trust bundle copy in namespace %s deleted: nothing there is meshed", action.namespace)
        self.writes += 1

    async def sync_once(self) -> bool:
        """Plan and send every write; True when all of them succeeded."""
        ok = True
        for action in self.plan():
            try:
                await self._apply(action)
            except ApiError as e:
                # 409/404: the cluster moved on since the watch spoke; its next event replans.
                quiet = e.status in (404, 409)
                ok = ok and quiet
                log.log(logging.DEBUG if quiet else logging.WARNING, "trust bundle copy: %s", e)
        return ok

    async def _loop(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._resync)
            self._wake.clear()
            if not await self.sync_once():
                await asyncio.sleep(1.0)  # back off a little before trying the failed writes again
                self._wake.set()

    # -- the admission path -----------------------------------------------------------------

    async def _fetch_source(self) -> BundleView | None:
        try:
            return bundle_view(await self.kube.get(f"{self._path(self.scope.mesh_namespace)}/{self.scope.name}"))
        except ApiError as e:
            if e.status == 404:
                return None
            raise

    async def _create_for_admission(self, namespace: str) -> str | None:
        source = self.source if self.synced else await self._fetch_source()
        if source is None:
            return f"no {self.scope.source_ref} ConfigMap to copy: the proxy cannot start until the mesh has one"
        try:
            await self.kube.create(self._path(namespace), desired_copy(namespace, source, self.scope))
        except ApiError as e:
            if e.status == 409:
                return None  # created meanwhile, by the loop or another review
            raise
        log.info("trust bundle copied into namespace %s for a pod being admitted", namespace)
        self.writes += 1
        self.bundles.setdefault(namespace, BundleView(namespace, source.data, True))
        return None

    def _created(self, namespace: str, task: asyncio.Task[str | None]) -> None:
        self._creating.pop(namespace, None)
        if not task.cancelled() and task.exception() is not None:
            # Seen here even when every waiting review gave up; the loop will try again.
            log.debug("trust bundle copy into %s for admission failed: %s", namespace, task.exception())

    async def ensure(self, namespace: str) -> str | None:
        """Make sure ``namespace`` has a bundle for a pod being meshed into it; a warning if it may not."""
        if self.scope.never_copied_into(namespace):
            return None
        self._admitted[namespace] = self._clock()
        if namespace in self.bundles:
            return None
        task = self._creating.get(namespace)
        if task is None:  # a burst of pods in a new namespace shares one create
            task = asyncio.create_task(self._create_for_admission(namespace))
            self._creating[namespace] = task
            task.add_done_callback(lambda t: self._created(namespace, t))
        try:
            # The webhook's own deadline is 10 s; past ours the create goes on without the review.
            async with asyncio.timeout(self._admission_timeout):
                return await asyncio.shield(task)
        except TimeoutError:
            return f"copying the trust bundle into namespace {namespace} takes more than {self._admission_timeout:g}s"
        except ApiError as e:
            return f"the trust bundle could not be copied into namespace {namespace}: {e}"

    # -- lifecycle --------------------------------------------------------------------------

    def start(self) -> None:
        selector = f"fieldSelector=metadata.name%3D{self.scope.name}"
        self._tasks = [
            asyncio.create_task(
                self.kube.list_watch("/api/v1/namespaces", self._reset_namespaces, self._namespace_event),
                name="bundle-namespaces",
            ),
            asyncio.create_task(
                self.kube.list_watch("/api/v1/pods", self._reset_pods, self._pod_event), name="bundle-pods"
            ),
            asyncio.create_task(
                self.kube.list_watch(f"/api/v1/configmaps?{selector}", self._reset_bundles, self._bundle_event),
                name="bundle-configmaps",
            ),
            asyncio.create_task(self._loop(), name="bundle-sync"),
        ]

    async def stop(self) -> None:
        tasks = [*self._tasks, *self._creating.values()]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, ApiError):
                await task
        self._tasks = []
