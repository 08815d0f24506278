"""Wiring: the issuer watcher, the certifier, the HTTPS and admin listeners, as one start/stop unit."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from prometheus_client import CollectorRegistry

from mesh.control._sites import Sites, bind
from mesh.pki import DEFAULT_LEAF_LIFETIME, CertificateAuthority, IdentityDomain, WorkloadIdentity
from mesh.pki.errors import PKIError

from ._app import build_admin_app, build_app
from ._certifier import Certifier
from ._issuer_source import EventPoster, IssuerWatcher
from ._metrics import IdentityMetrics
from ._ratelimit import TokenBuckets
from ._serving import ServingCertificate
from ._tokenreview import TokenReviewer

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ServiceConfig:
    issuer_dir: Path
    trust_anchors: Path
    domain: IdentityDomain
    # The service's own ServiceAccount; its DNS identity is the name clients verify.
    service_account: str = "identity"
    namespace: str | None = None
    listen: tuple[str, int] = ("127.0.0.1", 8080)
    admin_listen: tuple[str, int] | None = None
    leaf_lifetime: timedelta = DEFAULT_LEAF_LIFETIME
    rate_per_second: float = 10.0
    rate_burst: int = 50
    poll_interval: float = 1.0
    settle: float = 0.2

    @property
    def self_identity(self) -> WorkloadIdentity:
        return WorkloadIdentity(
            namespace=self.namespace or self.domain.mesh_namespace,
            service_account=self.service_account,
            domain=self.domain,
        )


class IdentityService:
    def __init__(
        self,
        config: ServiceConfig,
        reviewer: TokenReviewer,
        *,
        post_event: EventPoster | None = None,
        registry: CollectorRegistry | None = None,
    ) -> None:
        self.config = config
        self.metrics = IdentityMetrics(registry)
        self.watcher = IssuerWatcher(
            config.issuer_dir,
            config.trust_anchors,
            metrics=self.metrics,
            post_event=post_event,
            interval=config.poll_interval,
            settle=config.settle,
        )
        self.serving = ServingCertificate(config.self_identity, lifetime=config.leaf_lifetime)
        self.certifier = Certifier(
            domain=config.domain,
            reviewer=reviewer,
            issuer=lambda: self.watcher.current,
            limiter=TokenBuckets(rate=config.rate_per_second, burst=config.rate_burst),
            leaf_lifetime=config.leaf_lifetime,
        )
        self.watcher.on_change(self._reissue_serving)
        self._sites = Sites()
        self._task: asyncio.Task[None] | None = None
        self.port = 0
        self.admin_port = 0

    def ready(self) -> bool:
        return self.watcher.current is not None and self.serving.certificate is not None

    def _reissue_serving(self, ca: CertificateAuthority) -> None:
        try:
            self.serving.reissue(ca)
        except PKIError as e:
            log.error("cannot issue the service's own certificate: %s", e)

    async def _maintain(self) -> None:
        while True:
            await asyncio.sleep(self.config.poll_interval)
            await self.watcher.poll_once()
            current = self.watcher.current
            if current is not None and self.serving.due():
                self._reissue_serving(current)

    async def start(self) -> None:
        await self.watcher.poll_once()
        sock = bind(*self.config.listen)
        self.port = sock.getsockname()[1]
        await self._sites.serve(build_app(self.certifier, self.metrics, self.ready), sock, self.serving.context)
        if self.config.admin_listen is not None:
            admin = bind(*self.config.admin_listen)
            self.admin_port = admin.getsockname()[1]
            await self._sites.serve(build_admin_app(self.metrics, self.ready), admin, None)
        self._task = asyncio.create_task(self._maintain(), name="identity-issuer-watch")
        log.info("identity service listening on %s:%d", self.config.listen[0], self.port)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self._sites.close()
