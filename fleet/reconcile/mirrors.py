"""The multicluster mirrors the fleet manager runs: one per link of the revision in force.

A mirror needs credentials for both ends of a link. The fleet manager
already holds every cluster's, so ``meshfleet watch`` runs the mirrors
itself instead of copying one cluster's credentials into another. The set
of links follows the loaded revision: a new link starts its mirror. A
removed link's mirror keeps running for a while (``linger``): the reconcile
of the same revision prunes the Link object, and the mirror, seeing its Link
deleted, removes the mirror Services it made before it is stopped. A mirror
that fails is restarted after a pause.
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
LINGER = 120.0  # long enough for a rollout to reach the cluster and prune the Link


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
        linger: float = LINGER,
    ) -> None:
        self._credentials = credentials
        self._runner = runner
        self._restart_delay = restart_delay
        self._linger = linger
        self._running: dict[tuple[str, str], tuple[LinkEnds, asyncio.Task[None]]] = {}
        # Mirrors of links gone from the fleet, left to clean up after their Link until the timer stops them.
        self._leaving: dict[tuple[str, str], tuple[LinkEnds, asyncio.Task[None], asyncio.TimerHandle]] = {}

    @property
    def links(self) -> Mapping[tuple[str, str], LinkEnds]:
        return {key: ends for key, (ends, _) in self._running.items()}

    def update(self, config: FleetConfig) -> None:
        """Start the mirrors of new links, stop those of links gone or changed."""
        wanted = links_of(config)
        for key in list(self._running):
            ends, task = self._running[key]
            if key not in wanted:
                del self._running[key]
                timer = asyncio.get_running_loop().call_later(self._linger, self._stop_leaving, key)
                self._leaving[key] = (ends, task, timer)
                log.info("link %s -> %s removed; its mirror stops in %.0fs", key[0], key[1], self._linger)
            elif wanted[key] != ends:  # other contexts or namespace: a different mirror
                task.cancel()
                del self._running[key]
        for key, ends in wanted.items():
            if key in self._running:
                continue
            leaving = self._leaving.pop(key, None)
            if leaving is not None:
                leaving[2].cancel()
                if leaving[0] == ends:  # the link is back before its mirror stopped: keep that one
                    self._running[key] = leaving[:2]
                    continue
                leaving[1].cancel()
            self._running[key] = (ends, asyncio.create_task(self._keep(ends), name=f"mirror {key[0]}<-{key[1]}"))
            log.info("mirror of %s in %s started", ends.target, ends.cluster)

    def _stop_leaving(self, key: tuple[str, str]) -> None:
        leaving = self._leaving.pop(key, None)
        if leaving is not None:
            leaving[1].cancel()
            log.info("mirror of %s in %s stopped", key[1], key[0])

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
        for _, task, timer in self._leaving.values():
            timer.cancel()
            tasks.append(task)
        self._running.clear()
        self._leaving.clear()
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
