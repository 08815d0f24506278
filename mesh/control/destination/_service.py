"""Wiring: watches into the store, the hub, the TLS stream listener, the admin listener, as one unit."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from ._cluster import ENDPOINT_SLICES, NAMESPACES, PODS, POLICY_COLLECTIONS, SERVICES, Obj, ObjectStore
from ._compute import MeshSettings
from ._hub import Hub
from ._kube import KubeReader
from ._metrics import DestinationMetrics
from ._stream import StreamServer
from ._tls import ServingTls

log = logging.getLogger(__name__)

POLICY_API = "/apis/policy.meshfleet.io/v1alpha1"
WATCHES: dict[str, str] = {
    SERVICES: "/api/v1/services",
    ENDPOINT_SLICES: "/apis/discovery.k8s.io/v1/endpointslices",
    PODS: "/api/v1/pods",
    NAMESPACES: "/api/v1/namespaces",
    **{plural: f"{POLICY_API}/{plural}" for plural in POLICY_COLLECTIONS.values()},
}
# Without these the service would hand out empty or wrong endpoint sets; policy may lag (CRDs absent).
REQUIRED_FOR_READY = (SERVICES, ENDPOINT_SLICES, PODS)


@dataclass(frozen=True, slots=True)
class ServiceConfig:
    settings: MeshSettings
    identity_dir: Path
    trust_bundle: Path
    listen: tuple[str, int] = ("127.0.0.1", 8086)
    admin_listen: tuple[str, int] | None = None
    heartbeat: float = 10.0
    settle: float = 0.02
    tls_poll: float = 1.0
    watches: dict[str, str] = field(default_factory=lambda: dict(WATCHES))


def bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(1024)
    sock.setblocking(False)
    return sock


class DestinationService:
    def __init__(
        self, config: ServiceConfig, kube: KubeReader | None, *, registry: CollectorRegistry | None = None
    ) -> None:
        self.config = config
        self.kube = kube
        self.metrics = DestinationMetrics(registry)
        self.store = ObjectStore()
        self.hub = Hub(self.store, config.settings, self.metrics, settle=config.settle)
        self.tls = ServingTls(config.identity_dir, config.trust_bundle)
        self.streams = StreamServer(self.hub, heartbeat=config.heartbeat)
        self._server: asyncio.Server | None = None
        self._runner: web.AppRunner | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self.port = 0
        self.admin_port = 0

    def ready(self) -> bool:
        return self.tls.loaded and all(c in self.store.synced for c in REQUIRED_FOR_READY)

    # -- watch plumbing ------------------------------------------------------------------------

    def _on_reset(self, collection: str) -> Callable[[list[Obj]], None]:
        def reset(items: list[Obj]) -> None:
            self.store.reset(collection, items)
            self.hub.changed()

        return reset

    def _on_event(self, collection: str) -> Callable[[str, Obj], None]:
        def event(kind: str, obj: Obj) -> None:
            self.store.apply(collection, kind, obj)
            self.metrics.watch_events.labels(collection=collection).inc()
            self.hub.changed()

        return event

    def _spawn(self, coro: Coroutine[Any, Any, None], name: str) -> None:
        self._tasks.append(asyncio.create_task(coro, name=name))

    async def _poll_tls(self) -> None:
        while True:
            await asyncio.sleep(self.config.tls_poll)
            self.tls.reload()

    async def _heartbeats(self) -> None:
        while True:
            await asyncio.sleep(self.config.heartbeat)
            self.hub.heartbeat()

    # -- lifecycle ----------------------------------------------------------------------------------

    async def start(self) -> None:
        """Start watching and listening. The stream needs a serving certificate: wait for one first."""
        kube = self.kube
        if kube is not None:  # None: the store is fed by hand (tests, embedding)
            for collection, path in self.config.watches.items():
                self._spawn(
                    kube.list_watch(path, self._on_reset(collection), self._on_event(collection)),
                    f"watch-{collection}",
                )
        self._spawn(self.hub.run(), "destination-hub")
        self._spawn(self._heartbeats(), "destination-heartbeats")
        self._spawn(self._poll_tls(), "destination-tls")
        self.tls.reload()
        sock = bind(*self.config.listen)
        self.port = sock.getsockname()[1]
        self._server = await asyncio.start_server(
            self.streams.handle, sock=sock, ssl=self.tls.context, ssl_handshake_timeout=10.0
        )
        if self.config.admin_listen is not None:
            admin = bind(*self.config.admin_listen)
            self.admin_port = admin.getsockname()[1]
            self._runner = web.AppRunner(build_admin_app(self.metrics.registry, self.ready), access_log=None)
            await self._runner.setup()
            await web.SockSite(self._runner, admin).start()
        log.info("destination listening on %s:%d", self.config.listen[0], self.port)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        await self.streams.close_all()
        if self._server is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._server.wait_closed()
            self._server = None
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None


def build_admin_app(registry: CollectorRegistry, ready: Callable[[], bool]) -> web.Application:
    """Plain HTTP: /metrics, /ready, /live for Prometheus and the kubelet."""

    async def live(_: web.Request) -> web.Response:
        return web.Response(text="live\n")

    async def is_ready(_: web.Request) -> web.Response:
        if ready():
            return web.Response(text="ready\n")
        return web.Response(text="not synced or no serving certificate yet\n", status=503)

    async def scrape(_: web.Request) -> web.Response:
        return web.Response(body=generate_latest(registry), headers={"Content-Type": CONTENT_TYPE_LATEST})

    app = web.Application()
    app.add_routes([web.get("/live", live), web.get("/ready", is_ready), web.get("/metrics", scrape)])
    return app
