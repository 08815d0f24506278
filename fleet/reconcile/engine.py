"""The fleet reconciler: one revision, every cluster, concurrently, by waves.

``FleetReconciler.load`` accepts a revision (or refuses it whole, leaving
the last good one in force); ``schedule`` runs one pass: it plans the
rollout, then starts a task for each cluster that is due and not already
busy, at most ``concurrency`` at a time.  It never waits for a cluster: a
slow or unreachable cluster holds only its own task (bounded by
``cluster_timeout``) and its back-off, never the others.  ``settle`` waits
for the running tasks, for callers that want a pass to finish.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fleet.apply.plan import Obj
from fleet.config import FileTree, FleetConfig, Problem, check_fleet
from fleet.errors import KeystoreError
from fleet.kube.client import KubeClient
from fleet.kube.errors import KubeconfigError
from fleet.kube.kubeconfig import load_access
from fleet.reconcile import machine
from fleet.reconcile.backoff import Backoff
from fleet.reconcile.cluster import ClusterSync, Target
from fleet.reconcile.metrics import ReconcileMetrics
from fleet.reconcile.model import ClusterState, ClusterStatus
from fleet.reconcile.rollout_state import RolloutState, RolloutStateFile
from fleet.reconcile.status import document
from fleet.reconcile.waves import RolloutPlan, plan_rollout
from fleet.render import render_fleet
from fleet.trust.secrets import keystore_path, load_anchor_authority
from mesh.pki import CertificateAuthority

Clock = Callable[[], datetime]
Listener = Callable[[Mapping[str, ClusterStatus]], None]


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Revision:
    """A loaded, valid revision and its rendered objects per cluster."""

    revision: str
    config: FleetConfig
    objects: Mapping[str, tuple[Obj, ...]]
    commit_time: datetime | None


class FleetReconciler:
    def __init__(self, *, kubeconfig: list[Path] | None = None, concurrency: int = 4,
                 backoff: Backoff | None = None, metrics: ReconcileMetrics | None = None,
                 keystore: Path | None = None, rollout_state: RolloutStateFile | None = None,
                 cluster_timeout: float = 120.0, clock: Clock = utcnow, on_change: Listener | None = None) -> None:
        self.kubeconfig = kubeconfig
        self.metrics = metrics or ReconcileMetrics()
        self.backoff = backoff or Backoff()
        self.keystore = keystore if keystore is not None else keystore_path()
        self.rollout_file = rollout_state
        self.cluster_timeout = cluster_timeout
        self.clock = clock
        self.current: Revision | None = None
        self.refused: tuple[str, tuple[Problem, ...]] | None = None
        self.statuses: dict[str, ClusterStatus] = {}
        self.plan: RolloutPlan | None = None
        self._rollout = RolloutState()
        self._semaphore = asyncio.Semaphore(concurrency)
        self._clients: dict[str, KubeClient] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._on_change = on_change

    # -- revisions -------------------------------------------------------------------------------------

    def load(self, tree: FileTree, revision: str, commit_time: datetime | None = None) -> tuple[Problem, ...]:
        """Accept ``revision`` and return no problems, or refuse it whole and return every problem."""
        config, problems = check_fleet(tree, now=self.clock())
        if config is None:
            self.refused = (revision, problems)
            self.metrics.refused.inc()
            return problems
        self.refused = None
        rendered = render_fleet(config, revision)
        self.current = Revision(revision, config, {n: tuple(o) for n, o in rendered.items()}, commit_time)
        for name in config.cluster_names:
            self.statuses.setdefault(name, ClusterStatus(name))
        for name in [n for n in self.statuses if n not in config.cluster_names]:
            # A cluster removed from Git is no longer managed; what it runs is left as it is.
            del self.statuses[name]
        return ()

    # -- one pass --------------------------------------------------------------------------------------

    def _rollout_state(self) -> RolloutState:
        if self.rollout_file is not None:
            self._rollout = self.rollout_file.load()
        assert self.current is not None
        return self._rollout.for_revision(self.current.revision)

    def _save_rollout(self, state: RolloutState) -> None:
        self._rollout = state
        if self.rollout_file is not None:
            self.rollout_file.save(state)

    def schedule(self) -> RolloutPlan | None:
        """Plan the rollout and start work for every cluster that is due; returns the plan."""
        if self.current is None:
            return None
        now = self.clock()
        rev = self.current
        state = self._rollout_state()
        plan = plan_rollout(rev.config.waves, rev.revision, self.statuses, state.wave_started, now,
                            paused=state.paused, halted=state.halted)
        new_state = replace(state, wave_started=dict(plan.wave_started),
                            halted=plan.halt_reason if plan.halt_reason else state.halted)
        if new_state != self._rollout:
            self._save_rollout(new_state)
        self.plan = plan
        for name in rev.config.cluster_names:
            status = self.statuses[name]
            if name not in plan.allowed:
                if status.target_revision != rev.revision or status.message != plan.message:
                    self._set(name, machine.held(status, rev.revision, f"held by the rollout: {plan.message}"))
                continue
            busy = name in self._tasks and not self._tasks[name].done()
            if busy or not machine.due(status, now):
                continue
            self._tasks[name] = asyncio.create_task(self._run(name, rev), name=f"reconcile {name}")
        return plan

    async def settle(self) -> None:
        """Wait for every cluster task started so far."""
        tasks = [t for t in self._tasks.values() if not t.done()]
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)

    async def converge_once(self) -> RolloutPlan | None:
        """One pass that waits for its clusters, then re-plans (so a wave that just became Ready is seen)."""
        self.schedule()
        await self.settle()
        return self.schedule() if self.current is not None and not self._busy() else self.plan

    def _busy(self) -> bool:
        return any(not t.done() for t in self._tasks.values())

    # -- one cluster -----------------------------------------------------------------------------------

    def _set(self, name: str, status: ClusterStatus) -> None:
        self.statuses[name] = status
        self.metrics.set_state(name, status.state)
        if self._on_change is not None:
            self._on_change(dict(self.statuses))

    def _authority(self) -> CertificateAuthority:
        assert self.current is not None
        return load_anchor_authority(self.keystore, self.current.config.trust_anchors, self.clock())

    def _client(self, name: str, context: str) -> KubeClient:
        client = self._clients.get(name)
        if client is None or client.access.context != context:
            access = load_access(context, self.kubeconfig)
            client = KubeClient(access, timeout=10.0)
            self._clients[name] = client
        return client

    async def _run(self, name: str, rev: Revision) -> None:
        async with self._semaphore:
            cfg = rev.config.cluster(name)
            status = self.statuses[name]
            try:
                client = self._client(name, cfg.kubeconfig_context)
            except KubeconfigError as e:
                self._set(name, machine.failed(status, rev.revision, f"kubeconfig: {e}", self.clock(), self.backoff))
                return
            sync = ClusterSync(client, self._authority, self.metrics, self.backoff, self.clock)
            target = Target(cfg, rev.revision, rev.objects[name], rev.config.trust_anchors,
                            rev.config.trust_bundle_pem, rev.config.mesh.namespace, rev.config.mesh.trust_domain)
            needs_apply = (status.applied_revision != rev.revision
                           or status.state in (ClusterState.PENDING, ClusterState.FAILED, ClusterState.UNREACHABLE))
            if needs_apply:
                self._set(name, machine.applying(status, rev.revision))
            try:
                async with asyncio.timeout(self.cluster_timeout):
                    if needs_apply:
                        new = await sync.apply(self.statuses[name], target, rev.commit_time)
                    else:
                        new = await sync.check(status, target, rev.commit_time)
            except TimeoutError:
                reason = f"no result within {self.cluster_timeout:.0f}s; the API server is too slow"
                new = machine.unreachable(self.statuses[name], rev.revision, reason, self.clock(), self.backoff)
            except KeystoreError as e:  # only from paths that need a key and found none
                new = machine.degraded(self.statuses[name], rev.revision, str(e), self.clock(), self.backoff)
            self._set(name, new)
            if new.reachable:
                await sync.write_status(new, cfg)

    # -- reporting -------------------------------------------------------------------------------------

    def document(self) -> dict[str, Any]:
        now = self.clock()
        if self.current is None:
            return {"generatedAt": now.isoformat().replace("+00:00", "Z"), "anchors": [], "rotation": {"phase": None},
                    "clusters": []}
        config = self.current.config
        configs = {c.name: c for c in config.clusters}
        doc = document(list(self.statuses.values()), configs, config.trust_anchors, now, self.plan)
        if self.refused is not None:
            revision, problems = self.refused
            doc["refused"] = {"revision": revision, "problems": [p.format() for p in problems]}
        return doc

    async def close(self, grace: float = 3.0) -> None:
        """Stop: cluster passes in flight get ``grace`` seconds to finish, then are cancelled.

        A pass cancelled while it opens a TLS connection to an API server can
        leave that socket behind; most passes end well within the grace.
        """
        running = [t for t in self._tasks.values() if not t.done()]
        if running:
            await asyncio.wait(running, timeout=grace)
        for task in self._tasks.values():
            task.cancel()
        await asyncio.gather(*self._tasks.values(), return_exceptions=True)
        for client in self._clients.values():
            await client.close()
        self._clients.clear()
