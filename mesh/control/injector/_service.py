"""Wiring: serving certificate (reloaded on change), the HTTPS webhook, the admin listener."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import web
from prometheus_client import CollectorRegistry

from mesh.control._sites import Sites, bind
from mesh.control.destination import KubeReader
from mesh.control.destination.errors import ApiError

from ._app import InjectorMetrics, NamespaceCache, build_app, probe_routes
from ._bundle_sync import TrustBundleSync
from ._config import InjectorConfig
from .errors import ConfigError

log = logging.getLogger(__name__)

CERT_FILE = "tls.crt"
KEY_FILE = "tls.key"


@dataclass(frozen=True, slots=True)
class ServiceConfig:
    proxy: InjectorConfig
    tls_dir: Path
    listen: tuple[str, int] = ("127.0.0.1", 8443)
    admin_listen: tuple[str, int] | None = None
    tls_poll: float = 2.0


class _Certificate:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.minimum_version = ssl.TLSVersion.TLSv1_2
        self._stamp: tuple[int, int] | None = None

    def reload(self) -> bool:
        cert, key = self.directory / CERT_FILE, self.directory / KEY_FILE
        try:
            stamp = (os.stat(cert).st_mtime_ns, os.stat(key).st_mtime_ns)
        except OSError:
            return False
        if stamp == self._stamp:
            return False
        try:
            self.context.load_cert_chain(cert, key)
        except (OSError, ssl.SSLError) as e:
            log.warning("webhook certificate in %s not usable: %s", self.directory, type(e).__name__)
            return False
        self._stamp = stamp
        log.info("webhook certificate loaded from %s", self.directory)
        return True


class InjectorService:
    def __init__(
        self,
        config: ServiceConfig,
        kube: KubeReader | None,
        *,
        registry: CollectorRegistry | None = None,
        bundles: TrustBundleSync | None = None,
    ) -> None:
        self.config = config
        self.kube = kube
        self.bundles = bundles
        self.metrics = InjectorMetrics(registry)
        self.cert = _Certificate(config.tls_dir)
        self.namespaces = NamespaceCache(self._fetch_namespace)
        self._sites = Sites()
        self._task: asyncio.Task[None] | None = None
        self.port = 0
        self.admin_port = 0

    async def _fetch_namespace(self, name: str) -> Mapping[str, Any] | None:
        if self.kube is None:
            return None
        try:
            return await self.kube.get(f"/api/v1/namespaces/{name}")
        except ApiError as e:
            if e.status == 404:
                return None
            raise

    async def _poll(self) -> None:
        while True:
            await asyncio.sleep(self.config.tls_poll)
            self.cert.reload()

    async def start(self) -> None:
        if not self.cert.reload():
            raise ConfigError(f"no usable {CERT_FILE}/{KEY_FILE} in {self.config.tls_dir}")
        sock = bind(*self.config.listen)
        self.port = sock.getsockname()[1]
        ensure = self.bundles.ensure if self.bundles is not None else None
        app = build_app(self.config.proxy, self.namespaces.get, self.metrics, ensure)
        await self._sites.serve(app, sock, self.cert.context)
        if self.config.admin_listen is not None:
            admin = bind(*self.config.admin_listen)
            self.admin_port = admin.getsockname()[1]
            app = web.Application()
            app.add_routes(probe_routes(self.metrics.registry, lambda: True))
            await self._sites.serve(app, admin, None)
        self._task = asyncio.create_task(self._poll(), name="injector-tls")
        if self.bundles is not None:
            self.bundles.start()
        log.info("injector listening on %s:%d", self.config.listen[0], self.port)

    async def stop(self) -> None:
        if self.bundles is not None:
            await self.bundles.stop()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self._sites.close()
