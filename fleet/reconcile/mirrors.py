"""The multicluster mirrors the fleet manager runs: one per link of the revision in force.

A mirror needs credentials for both ends of a link. The fleet manager
already holds every cluster's, so ``meshfleet watch`` runs the mirrors
itself instead of copying one cluster's credentials into another. The set
of links follows the loaded revision: a new link starts its mirror, a
removed one stops it (its mirror objects stay until the Link object is
pruned from the cluster, which the mirror of a live link would clean up;
see docs/multicluster.md). A mirror that fails is restarted after a pause.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from fleet.config import FleetConfig
from mesh.control.identity import ApiCredentials, load_kubeconfig
from mesh.control.identity.errors import ConfigError as KubeconfigUnusable
from mesh.control.mirror import run_until

log = logging.getLogger(__name__)

RESTART_DELAY = 5.0


@dataclass(frozen=True, slots=True)
class LinkEnds:
    """One link: ``cluster`` mirrors the exported services of ``target``."""

    cluster: str
    target: str
    cluster_context: str
    target_context: str
    mesh_namespace: str  # where the cluster's Link objects live


def links_of(config: FleetConfig) -> dict[tuple[str, str], LinkEnds]:
    """Every link of the fleet, keyed by (cluster, target)."""
    out: dict[tuple[str, str], LinkEnds] = {}
    for name in config.cluster_names:
        cluster = config.cluster(name)
        for target in cluster.links:
            target_context = config.cluster(target).kubeconfig_context
            out[(name, target)] = LinkEnds(
                name, target, cluster.kubeconfig_context, target_context, config.mesh.namespace
            )
    return out


Credentials = Callable[[str], ApiCredentials]
Runner = Callable[[ApiCredentials, ApiCredentials, str, str, Awaitable[object]], Awaitable[None]]


def kubeconfig_credentials(paths: list[Path]) -> Credentials:
    """Credentials for a context, from the first of ``paths`` that has it."""

    def find(context: str) -> ApiCredentials:
        problems = []
        for path in paths:
            try:
                return load_kubeconfig(path, context)
            except KubeconfigUnusable as e:
                problems.append(str(e))
        raise LookupError(f"context {context!r}: " + ("; ".join(problems) or "no kubeconfig file"))

    return find


class MirrorSupervisor:
    def __init__(
        self,
        credentials: Credentials,
        runner: Runner = run_until,
        *,
        restart_delay: float = RESTART_DELAY,
    ) -> None:
        self._credentials = credentials
        self._runner = runner
        self._restart_delay = restart_delay
        self._running: dict[tuple[str, str], tuple[LinkEnds, asyncio.Task[None]]] = {}

    @property
    def links(self) -> Mapping[tuple[str, str], LinkEnds]:
        return {key: ends for key, (ends, _) in self._running.items()}

    def update(self, config: FleetConfig) -> None:
        """Start the mirrors of new links, stop those of links gone or changed."""
        wanted = links_of(config)
        for key in list(self._running):
            ends, task = self._running[key]
            if wanted.get(key) != ends:
                task.cancel()
                del self._running[key]
                log.info("mirror of %s in %s stopped", key[1], key[0])
        for key, ends in wanted.items():
            if key not in self._running:
                self._running[key] = (ends, asyncio.create_task(self._keep(ends), name=f"mirror {key[0]}<-{key[1]}"))
                log.info("mirror of %s in %s started", ends.target, ends.cluster)

    async def _keep(self, ends: LinkEnds) -> None:
        forever = asyncio.get_running_loop().create_future()  # cancelled with this task
        while True:
            try:
                local = self._credentials(ends.cluster_context)
                remote = self._credentials(ends.target_context)
                await self._runner(local, remote, ends.target, ends.mesh_namespace, forever)
            except asyncio.CancelledError:
                raise
            except Exception as e:  # a mirror must not take the fleet manager down; it is retried
                log.warning(
                    "mirror of %s in %s failed: %s; retrying in %.0fs",
                    ends.target,
                    ends.cluster,
                    e,
                    self._restart_delay,
                )
            await asyncio.sleep(self._restart_delay)

    async def close(self) -> None:
        tasks = [task for _, task in self._running.values()]
        self._running.clear()
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
