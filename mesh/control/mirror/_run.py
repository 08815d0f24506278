"""Running the mirror: credentials for both clusters in, a controller until told to stop."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Awaitable
from pathlib import Path

from mesh.control.destination import KubeReader
from mesh.control.identity import ApiCredentials, load_kubeconfig
from mesh.control.identity.errors import ConfigError as KubeConfigError
from mesh.control.injector import KubeClient

from ._controller import MirrorController
from .errors import ConfigError


def credentials(path: Path, context: str | None, which: str) -> ApiCredentials:
    """Read a kubeconfig; the error names which cluster's it is (``which``: "local" or "remote")."""
    try:
        return load_kubeconfig(path, context)
    except KubeConfigError as e:
        raise ConfigError(f"{which} cluster kubeconfig: {e}") from e


async def run_until(
    local_creds: ApiCredentials,
    remote_creds: ApiCredentials,
    link: str,
    mesh_namespace: str,
    stopped: Awaitable[object],
    *,
    resync: float = 10.0,
) -> None:
    """Mirror the Link's target cluster into the local one until ``stopped`` completes; clients closed after."""
    try:
        local = KubeClient(local_creds)
    except ssl.SSLError as e:
        raise ConfigError(f"local cluster: the CA or client certificate cannot be loaded ({e.reason})") from e
    try:
        remote = KubeReader(remote_creds)
    except ssl.SSLError as e:
        await local.close()
        raise ConfigError(f"remote cluster: the CA or client certificate cannot be loaded ({e.reason})") from e
    controller = MirrorController(local, remote, link, mesh_namespace, resync=resync)
    try:
        controller.start()
        await stopped
    finally:
        await controller.stop()
        await local.close()
        await remote.close()


async def run_mirror(
    local_kubeconfig: Path,
    remote_kubeconfig: Path,
    link: str,
    mesh_namespace: str,
    stop: asyncio.Event,
    *,
    local_context: str | None = None,
    remote_context: str | None = None,
) -> None:
    """Keep the mirrors of Link ``mesh_namespace/link`` current until ``stop`` is set.

    For running in-process (the fleet manager, tests). Raises
    :class:`ConfigError` at once when a kubeconfig is unusable; after that,
    API errors are logged and retried, never raised.
    """
    local_creds = credentials(local_kubeconfig, local_context, "local")
    remote_creds = credentials(remote_kubeconfig, remote_context, "remote")
    await run_until(local_creds, remote_creds, link, mesh_namespace, stop.wait())
