"""`meshfleet proxy`: configure and run the sidecar until told to stop."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal

from .app import ProxyApp
from .errors import ConfigError, ProxyError
from .identity import FileIdentitySource
from .resolver import FileResolver, ServiceTable, Subscription, UpdateCallback
from .settings import ProxySettings, parse_settings

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
    identity = build_identity(settings)
    identity.refresh()
    resolver: FileResolver | _NoResolver
    resolver = FileResolver(settings.resolver_file, settings.timeouts) if settings.resolver_file else _NoResolver()
    app = ProxyApp(settings, identity, resolver)
    await app.start()
    log.info(
        "proxy listening: inbound %s, outbound %s, admin %s",
        app.address("inbound"),
        app.address("outbound"),
        app.address("admin"),
    )
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, lambda: asyncio.ensure_future(app.shutdown()))
    watchers = [asyncio.ensure_future(identity.watch())]
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
