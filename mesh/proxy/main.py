"""`meshfleet proxy`: configure and run the sidecar until told to stop."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import ssl
import types
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry

from .app import ProxyApp
from .errors import ConfigError, ProxyError
from .identity import FileIdentitySource
from .resolver import FileResolver, Resolver, ServiceTable, Subscription, UpdateCallback
from .settings import ProxySettings, parse_settings

if TYPE_CHECKING:
    from mesh.identity_client import Credentials

log = logging.getLogger("mesh.proxy")


class _NoResolver:
    """Used when no resolver is configured: nothing is meshed, traffic passes through."""

    def resolve(self, target: str, on_update: UpdateCallback) -> Subscription:
        on_update(None)
        return _NoSubscription()

    @property
    def table(self) -> ServiceTable:
        return ServiceTable((), {})


class _NoSubscription:
    def cancel(self) -> None:
        pass


def build_identity(settings: ProxySettings) -> FileIdentitySource:
    if settings.identity_dir is None or settings.trust_bundle is None:
        raise ConfigError(
            "--identity-dir and --trust-bundle (or MESHFLEET_PROXY_IDENTITY_DIR/TRUST_BUNDLE) are required"
        )
    return FileIdentitySource(
        settings.identity_dir / "cert.pem",
        settings.identity_dir / "key.pem",
        settings.trust_bundle,
        settings.identity_name,
    )


async def serve(settings: ProxySettings) -> None:
    # Imported here: the control-plane clients import proxy value modules, so importing them while
    # ``mesh.proxy`` itself is initialising would be circular; and a proxy without an identity
    # service never pays for cryptography.
    identity = build_identity(settings)
    registry = CollectorRegistry(auto_describe=False)

    def certified(_creds: Credentials) -> None:
        identity.refresh()  # the new cert.pem is on disk: load it now rather than at the next poll

    # Only a proxy with a control plane loads its clients (and with them cryptography's x509,
    # about 10 MiB of every proxy's memory).
    control: types.ModuleType | None = None
    if settings.identity_addr is not None or settings.destination_addr is not None:
        from mesh.identity_client.errors import IdentityClientError

        from . import control as control_module

        control = control_module
    certifier = control.identity_client(settings, registry, certified) if control is not None else None
    if certifier is not None:
        try:
            certifier.start()  # our key, written 0600 next to where the certificate will land
        except IdentityClientError as e:
            raise ConfigError(str(e)) from e
    identity.refresh()
    app: ProxyApp | None = None

    def client_tls() -> ssl.SSLContext | None:
        return app.tls.client if app is not None and app.tls is not None else None

    destination = control.destination_client(settings, client_tls) if control is not None else None
    resolver: Resolver
    if destination is not None:
        resolver = destination
    elif settings.resolver_file:
        resolver = FileResolver(settings.resolver_file, settings.timeouts)
    else:
        resolver = _NoResolver()
    app = ProxyApp(settings, identity, resolver)
    app.metrics.registries.append(registry)
    if destination is not None and destination.config.pod is not None:
        destination.inbound_policy(app.authz.update)
    await app.start()
    log.info(
        "proxy (%s) listening: inbound %s, outbound %s, admin %s",
        settings.mode,
        app.address("inbound"),
        app.address("outbound") if settings.mode != "gateway" else "-",
        app.address("admin"),
    )
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, lambda: asyncio.ensure_future(app.shutdown()))
    watchers = [asyncio.ensure_future(identity.watch())]
    if certifier is not None:
        watchers.append(asyncio.ensure_future(certifier.run()))
    if destination is not None:
        watchers.append(asyncio.ensure_future(destination.run()))
    if isinstance(resolver, FileResolver):
        watchers.append(asyncio.ensure_future(resolver.watch()))
    try:
        await app.wait_stopped()
    finally:
        for task in watchers:
            task.cancel()
        await asyncio.gather(*watchers, return_exceptions=True)
    log.info("proxy stopped")


def run_proxy(argv: list[str]) -> int:
    """Entry point for `meshfleet proxy`; returns the process exit status."""
    try:
        settings = parse_settings(argv)
    except ConfigError as e:
        logging.basicConfig(level=logging.ERROR)
        log.error("%s", e)
        return 2
    logging.basicConfig(
        level=getattr(logging, settings.log_level.upper(), logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a pinned dependency
        runner = asyncio.run
    else:
        runner = uvloop.run
    try:
        runner(serve(settings))
    except ProxyError as e:
        log.error("%s", e)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0
