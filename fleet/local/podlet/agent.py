"""The podlet process: one node of one local cluster.

Start-up order: check root, clean up whatever a previous podlet left (by its
records), register the Node and wait for its podCIDR, take the host-wide lock
on that pod network, build the bridge, start the Service proxy and the DNS
server, then watch the pods bound to the node.  On SIGTERM it stops every
pod, marks the Node NotReady and removes the bridge and its rules.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import ipaddress
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fleet.local.certs import ClusterPKI
from fleet.local.podlet import dnsserver, netops, records, svcrules
from fleet.local.podlet.api import Kube, reflect
from fleet.local.podlet.dnsrecords import Records
from fleet.local.podlet.errors import ApiError, NetworkError, NetworkTakenError, NotRootError
from fleet.local.podlet.ipam import Ipam
from fleet.local.podlet.naming import NodeNetwork
from fleet.local.podlet.node import NodeAgent
from fleet.local.podlet.podenv import ImageMatch
from fleet.local.podlet.worker import NodeContext, PodWorker

LOCK_DIR = Path("/run/meshfleet")


def default_entrypoint() -> tuple[str, ...]:
    """How ``meshfleet`` is started inside a pod: this interpreter running the CLI module."""
    return (sys.executable, "-m", "fleet.cli")


@dataclass(frozen=True, slots=True)
class PodletConfig:
    cluster: str
    node: str
    cluster_dir: Path  # the cluster's directory in the local fleet's state (pki/, logs/, ...)
    apiserver_port: int
    service_cidr: str
    entrypoint: tuple[str, ...] = field(default_factory=default_entrypoint)
    images: ImageMatch = ImageMatch()
    shutdown_grace: float = 1.5  # pods get this long on node shutdown: `local down` waits 3 s for the podlet

    @property
    def node_dir(self) -> Path:
        return node_dir(self.cluster_dir, self.node)

    @property
    def kubernetes_service_ip(self) -> str:
        return str(ipaddress.ip_network(self.service_cidr)[1])


def node_dir(cluster_dir: Path, node: str) -> Path:
    return cluster_dir / "podlet" / node


def default_node_name(cluster: str, index: int = 1) -> str:
    return f"{cluster}-node-{index}"


class _NetworkLock:
    """A host-wide flock per pod network: two podlets must never share one bridge and range."""

    def __init__(self, net: NodeNetwork) -> None:
        self.path = LOCK_DIR / net.lock_name
        self.fd: int | None = None

    def acquire(self) -> None:
        LOCK_DIR.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            owner = os.read(fd, 200).decode(errors="replace").strip() or "another podlet"
            os.close(fd)
            raise NetworkTakenError(f"the pod network {self.path.name.removesuffix('.lock')} is in use on this "
                                    f"machine by {owner}; stop that local fleet first") from None
        os.ftruncate(fd, 0)
        os.write(fd, f"podlet pid {os.getpid()}".encode())
        self.fd = fd

    def release(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


class Podlet:
    def __init__(self, cfg: PodletConfig, log: Callable[[str], None]) -> None:
        self.cfg = cfg
        self.log = log
        self.workers: dict[str, PodWorker] = {}
        self.records = Records()

    async def run(self, stop: asyncio.Event) -> None:
        if not netops.is_root():
            raise NotRootError("the podlet needs root: it creates network and mount namespaces, veths, a bridge "
                               "and iptables rules for the pods (run it with sudo)")
        cfg = self.cfg
        pki = ClusterPKI(cfg.cluster_dir / "pki")
        node_pair = pki.client_cert(f"node-{cfg.node}", f"system:node:{cfg.node}", ("system:nodes",))
        proxy_pair = pki.client_cert("kube-proxy", "system:kube-proxy", ())
        server = f"https://127.0.0.1:{cfg.apiserver_port}"
        removed = await asyncio.to_thread(records.cleanup_node, cfg.node_dir)
        if removed:
            self.log(f"removed what a previous podlet left: {', '.join(removed)}")
        async with Kube(server, pki.ca.cert, node_pair.cert, node_pair.key) as kube, \
                Kube(server, pki.ca.cert, proxy_pair.cert, proxy_pair.key) as proxy_kube:
            agent = NodeAgent(kube, cfg.node)
            cidr = await agent.register()
            net = NodeNetwork(cidr)
            lock = _NetworkLock(net)
            lock.acquire()
            try:
                await self._serve(kube, proxy_kube, agent, net, stop)
            finally:
                lock.release()

    async def _serve(self, kube: Kube, proxy_kube: Kube, agent: NodeAgent, net: NodeNetwork,
                     stop: asyncio.Event) -> None:
        cfg = self.cfg
        agent.host_ip = net.gateway
        await asyncio.to_thread(records.save_network, cfg.node_dir, net)
        tasks: list[asyncio.Task[Any]] = []
        dns: asyncio.DatagramTransport | None = None
        try:
            await asyncio.to_thread(netops.ensure_bridge, net)
            from fleet.local.podlet.services import ServiceProxy

            proxy = ServiceProxy(proxy_kube, net, cfg.apiserver_port, self.records, self.log)
            proxy_task = asyncio.create_task(proxy.run())
            tasks.append(proxy_task)
            dns = await dnsserver.serve(self.records, net.gateway)
            synced = asyncio.create_task(proxy.synced.wait())
            await asyncio.wait({proxy_task, synced}, timeout=30, return_when=asyncio.FIRST_COMPLETED)
            synced.cancel()
            if proxy_task.done():
                proxy_task.result()  # raises what stopped it
            if not proxy.synced.is_set():
                raise NetworkError("Services were not programmed within 30s")
            ipam = Ipam(cidr=net.pod_cidr)
            k8s_ip = cfg.kubernetes_service_ip
            ctx = NodeContext(kube=kube, net=net, node_name=cfg.node, node_dir=cfg.node_dir,
                              entrypoint=cfg.entrypoint, images=cfg.images,
                              service_env={"KUBERNETES_SERVICE_HOST": k8s_ip, "KUBERNETES_SERVICE_PORT": "443",
                                           "KUBERNETES_SERVICE_PORT_HTTPS": "443",
                                           "KUBERNETES_PORT": f"tcp://{k8s_ip}:443"},
                              allocate_ip=ipam.allocate, release_ip=ipam.release, log=self.log)
            agent.ready = True
            await agent.report(True, "PodletReady", "podlet is posting ready status")
            tasks.append(asyncio.create_task(agent.heartbeat(self.log)))
            tasks.append(asyncio.create_task(self._watch_pods(ctx)))
            self.log(f"node {cfg.node} ready: pods {net.pod_cidr} on {net.bridge}, DNS at {net.gateway}")
            await stop.wait()
        finally:
            self.log(f"node {cfg.node} stopping: {len(self.workers)} pod(s)")
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            workers = list(self.workers.values())
            for w in workers:
                w.stop(grace=cfg.shutdown_grace)
            await asyncio.gather(*(w.task for w in workers if w.task), return_exceptions=True)
            with contextlib.suppress(ApiError):
                agent.ready = False
                await agent.report(False, "PodletStopped", "podlet stopped")
            if dns is not None:
                dns.close()
            await asyncio.to_thread(records.cleanup_node, cfg.node_dir)

    async def _watch_pods(self, ctx: NodeContext) -> None:
        params = {"fieldSelector": f"spec.nodeName={self.cfg.node}"}

        async def on_list(items: list[dict[str, Any]]) -> None:
            seen = {p["metadata"]["uid"] for p in items}
            for uid, w in list(self.workers.items()):
                if uid not in seen:
                    w.stop(gone=True, grace=0)
            for p in items:
                self._pod_event(ctx, p)

        async def on_event(kind: str, pod: dict[str, Any]) -> None:
            if kind == "DELETED":
                w = self.workers.get(pod["metadata"]["uid"])
                if w is not None:
                    w.stop(gone=True, grace=0)
            else:
                self._pod_event(ctx, pod)

        await reflect(ctx.kube, "/api/v1/pods", params, on_list, on_event, self.log)

    def _pod_event(self, ctx: NodeContext, pod: dict[str, Any]) -> None:
        uid = pod["metadata"]["uid"]
        w = self.workers.get(uid)
        if w is not None:
            w.update(pod)
            return
        phase = (pod.get("status") or {}).get("phase")
        if pod["metadata"].get("deletionTimestamp") or phase in ("Succeeded", "Failed"):
            if pod["metadata"].get("deletionTimestamp"):
                asyncio.create_task(self._finalize_unknown(ctx, pod))
            return
        w = PodWorker(ctx, pod)
        self.workers[uid] = w

        async def run() -> None:
            try:
                await w.run()
            except Exception as e:  # noqa: BLE001 - one broken pod must never stop the node
                self.log(f"pod {w.namespace}/{w.name}: worker failed: {e!r}")
            finally:
                self.workers.pop(uid, None)

        w.task = asyncio.create_task(run())

    async def _finalize_unknown(self, ctx: NodeContext, pod: dict[str, Any]) -> None:
        meta = pod["metadata"]
        with contextlib.suppress(ApiError):
            await ctx.kube.delete(f"/api/v1/namespaces/{meta['namespace']}/pods/{meta['name']}",
                                  {"gracePeriodSeconds": 0, "preconditions": {"uid": meta["uid"]}})


__all__ = ["Podlet", "PodletConfig", "default_entrypoint", "default_node_name", "node_dir", "svcrules"]
