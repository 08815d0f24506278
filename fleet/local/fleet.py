"""Bring a local fleet of real Kubernetes control planes up and down.

Clusters start concurrently; within a cluster the order is etcd, apiserver,
then controller-manager and scheduler, each waited for before the next; with
podlets, then one podlet per node (all at once: each registers its Node and
gets its own /24 podCIDR from the controller-manager) and the cluster's
Prometheus (its discovery loop, then Prometheus itself; see
fleet.local.prometheus).  If
anything fails, every process this call started is stopped again and the error
names the cluster and component with the end of its log.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import shutil
import socket
import ssl
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from pathlib import Path

import aiohttp
import yaml

from fleet.local import commands, process, prometheus
from fleet.local.binaries import BinarySet, ensure_binaries
from fleet.local.commands import ClusterPaths
from fleet.local.errors import ComponentStartError, LocalFleetError, UnknownClusterError
from fleet.local.kubeconfig import Credentials, document
from fleet.local.process import ProcessRecord
from fleet.local.state import ClusterRecord, FleetState
from fleet.local.topology import DEFAULT_NAMES, ClusterPlan, Ports, context_name, podlet_component

Progress = Callable[[str], None]

ETCD_TIMEOUT = 30.0
APISERVER_TIMEOUT = 120.0
CONTROLLER_TIMEOUT = 60.0
PODLET_TIMEOUT = 90.0
PROMETHEUS_TIMEOUT = 60.0
_PORT_RETRIES = 3
PROMETHEUS_COMPONENTS = ("prometheus-targets", "prometheus")
FLEET_EXTRAS = ("fleet-repo", "keystore", "rollout", "git-cache", "status.json", "watch.log", "webhook.secret")


@dataclass(frozen=True, slots=True)
class ClusterStatus:
    name: str
    api_url: str
    context: str
    ready: bool
    uptime_seconds: float
    pids: dict[str, int]
    kubeconfig: str
    prometheus: str | None = None  # the cluster's Prometheus HTTP API, when it runs one
    nodes: tuple[str, ...] = ()  # the Nodes its podlets run

    def to_json(self) -> dict[str, object]:
        return {"name": self.name, "apiServer": self.api_url, "context": self.context, "ready": self.ready,
                "uptimeSeconds": round(self.uptime_seconds, 1), "pids": self.pids,
                "kubeconfig": self.kubeconfig, "prometheus": self.prometheus, "nodes": list(self.nodes)}


class _PortsTaken(Exception):
    """A component could not bind: pick new ports and try again."""


class _PortPicker:
    """Free loopback ports below the kernel's ephemeral range, never the same one twice in this process.

    A port handed out by binding to port 0 comes from the ephemeral range, where the
    kernel also picks source ports for outgoing connections: between our check and
    the component's bind, the apiserver's own connections to etcd can take it.
    Ports below that range are only ever taken by an explicit bind.
    """

    def __init__(self) -> None:
        self._given: set[int] = set()
        self._low, self._high = _below_ephemeral_range()

    def one(self) -> int:
        for _ in range(1000):
            port = random.randrange(self._low, self._high)
            if port not in self._given and _port_free(port):
                self._given.add(port)
                return port
        raise LocalFleetError(f"no free loopback port between {self._low} and {self._high}")

    def ports(self) -> Ports:
        return Ports(self.one(), self.one(), self.one(), self.one(), self.one())


def _below_ephemeral_range() -> tuple[int, int]:
    try:
        first = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        first = 32768
    high = max(first, 12000)
    return high - 10000, high


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        # As the components bind: a port whose old connections linger in TIME_WAIT is free to listen on.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


class LocalFleet:
    def __init__(self, state_dir: Path, progress: Progress = lambda _msg: None, podlets: bool = False,
                 prometheus: bool | None = None, nodes: int | None = None) -> None:
        self.state = FleetState.load(state_dir)
        self.podlets = podlets  # node agents in every cluster, so pods really run (needs root)
        # Podlets (Nodes) per cluster, when there are podlets.  None: a new cluster gets one and a
        # running one keeps what it has; a number also starts or stops podlets of running clusters.
        self.nodes = nodes
        # A Prometheus per cluster scraping its proxies; by default only where pods run, since
        # without a podlet there is no proxy to scrape.
        self.prometheus = podlets if prometheus is None else prometheus
        self.progress = progress
        self._ports = _PortPicker()
        self._lock = asyncio.Lock()

    # ---- up -------------------------------------------------------------------------------------

    async def up(self, names: tuple[str, ...], binaries: BinarySet | None = None) -> list[ClusterStatus]:
        """Make every named cluster run, reusing healthy ones; returns their status."""
        healthy = {s.name for s in await self.status_async() if s.ready}
        to_start = [n for n in names if n not in healthy]
        for n in names:
            if n in healthy:
                rec = self.state.clusters[n]
                self.progress(f"{n}: already running at {rec.api_url}")
                if self.podlets and self.nodes is not None and len(rec.nodes) != self.nodes:
                    await self._resize(n, self.nodes)
        if to_start:
            bins = binaries if binaries is not None else await asyncio.to_thread(ensure_binaries, self.progress)
            plans = self._plans(to_start)
            started: list[ProcessRecord] = []
            results = await asyncio.gather(*(self._start_cluster(p, bins, started) for p in plans),
                                           return_exceptions=True)
            failures = [r for r in results if isinstance(r, BaseException)]
            if failures:
                await asyncio.to_thread(process.stop, started)
                for p in plans:
                    self.state.clusters.pop(p.name, None)
                self.state.save()
                self._write_merged_kubeconfig()
                first = failures[0]
                if isinstance(first, LocalFleetError):
                    raise first
                raise LocalFleetError(f"starting the local fleet failed: {first!r}") from first
        self._write_merged_kubeconfig()
        return [s for s in await self.status_async() if s.name in names]

    def _plans(self, names: list[str]) -> list[ClusterPlan]:
        used = {c.index for n, c in self.state.clusters.items() if n not in names}
        plans = []
        for name in names:
            if name in self.state.clusters:
                index = self.state.clusters[name].index
            elif name in DEFAULT_NAMES and DEFAULT_NAMES.index(name) not in used:
                index = DEFAULT_NAMES.index(name)
            else:
                index = next(i for i in range(len(DEFAULT_NAMES), 1000) if i not in used)
            used.add(index)
            plans.append(ClusterPlan(name=name, index=index))
        return plans

    async def _start_cluster(self, plan: ClusterPlan, bins: BinarySet, started: list[ProcessRecord]) -> None:
        old = self.state.clusters.get(plan.name)
        if old is not None:
            # A cluster that is recorded but not healthy: stop its leftovers, keep its data.
            await asyncio.to_thread(process.stop, old.processes)
        paths = self.state.cluster_paths(plan.name)
        await asyncio.to_thread(paths.pki.ensure, plan.name, plan.kubernetes_service_ip)
        ports = old.ports if old is not None and all(_port_free(p) for p in old.ports.all()) else None
        # A recorded cluster started again keeps its node count unless a count was asked for.
        node_count = self.nodes or (len(old.nodes) if old is not None and old.nodes else 1)
        t0 = time.monotonic()
        for attempt in range(_PORT_RETRIES):
            ports = ports or self._ports.ports()
            try:
                procs, nodes, prom_port = await self._start_components(plan, ports, paths, bins, started, node_count)
                break
            except _PortsTaken:
                self.progress(f"{plan.name}: a port was taken meanwhile; picking others (try {attempt + 2})")
                ports = None
        else:
            raise ComponentStartError(plan.name, "start-up", f"found no free ports in {_PORT_RETRIES} tries", "")
        assert ports is not None
        async with self._lock:
            self.state.clusters[plan.name] = ClusterRecord(plan.name, plan.index, ports, tuple(procs), time.time(),
                                                           prom_port, nodes)
            self.state.save()
        for node in (old.nodes if old is not None else ()):
            if node not in nodes:  # kept data remembers a node this start no longer runs
                from fleet.local.podlet.records import cleanup_node

                await asyncio.to_thread(cleanup_node, paths.root / "podlet" / node)
                await self._forget_node(ports.apiserver, paths, node)
        self.progress(f"{plan.name}: ready at https://127.0.0.1:{ports.apiserver} in {time.monotonic() - t0:.1f}s")

    async def _start_components(self, plan: ClusterPlan, ports: Ports, paths: ClusterPaths, bins: BinarySet,
                                started: list[ProcessRecord], node_count: int = 1
                                ) -> tuple[list[ProcessRecord], tuple[str, ...], int | None]:
        self._write_kubeconfigs(plan, ports, paths)
        mine: list[ProcessRecord] = []

        def launch(component: str, argv: list[str]) -> ProcessRecord:
            rec = process.spawn(argv, paths.log(component), component)
            mine.append(rec)
            started.append(rec)
            return rec

        try:
            etcd = launch("etcd", commands.etcd(bins.etcd, plan, ports, paths))
            await self._wait(plan, etcd, ETCD_TIMEOUT, self._etcd_ready(ports))
            api = launch("kube-apiserver", commands.apiserver(bins.kube_apiserver, plan, ports, paths))
            await self._wait(plan, api, APISERVER_TIMEOUT, self._https_ready(ports.apiserver, "/readyz", paths))
            kcm = launch("kube-controller-manager",
                         commands.controller_manager(bins.kube_controller_manager, plan, ports, paths))
            sched = launch("kube-scheduler", commands.scheduler(bins.kube_scheduler, plan, ports, paths))
            await asyncio.gather(
                self._wait(plan, kcm, CONTROLLER_TIMEOUT,
                           self._https_ready(ports.controller_manager, "/healthz", paths, client=False)),
                self._wait(plan, sched, CONTROLLER_TIMEOUT,
                           self._https_ready(ports.scheduler, "/healthz", paths, client=False)),
            )
            nodes = plan.node_names(node_count) if self.podlets else ()
            podlets = [launch(podlet_component(node), commands.podlet(plan, ports, paths, node)) for node in nodes]
            await asyncio.gather(*(
                self._wait(plan, rec, PODLET_TIMEOUT, self._node_ready(ports.apiserver, paths, node))
                for rec, node in zip(podlets, nodes, strict=True)))
            prom_port = await self._start_prometheus(plan, ports.apiserver, paths, launch) if self.prometheus else None
        except BaseException:
            await asyncio.to_thread(process.stop, mine)
            for rec in mine:
                started.remove(rec)
            raise
        return mine, nodes, prom_port

    async def _resize(self, name: str, count: int) -> None:
        """Start or stop podlets of a running cluster until it runs ``count`` nodes.

        A node that goes is stopped like at ``down`` (its pods stopped, its network removed), then
        its Node, its Lease and the pod objects bound to it are deleted, so their controllers replace
        them on the nodes left at once rather than after the pod garbage collector's quarantine.
        """
        from fleet.local.podlet.records import cleanup_node

        rec = self._record(name)
        plan = ClusterPlan(name, rec.index)
        paths = self.state.cluster_paths(name)
        wanted = plan.node_names(count)
        extra = [n for n in rec.nodes if n not in wanted]
        missing = [n for n in wanted if n not in rec.nodes]
        gone = [p for p in rec.processes if p.component in {podlet_component(n) for n in extra}]
        await asyncio.to_thread(process.stop, gone)
        for node in extra:
            await asyncio.to_thread(cleanup_node, paths.root / "podlet" / node)
            await self._forget_node(rec.ports.apiserver, paths, node)
        started = [process.spawn(commands.podlet(plan, rec.ports, paths, node),
                                 paths.log(podlet_component(node)), podlet_component(node)) for node in missing]
        try:
            await asyncio.gather(*(
                self._wait(plan, p, PODLET_TIMEOUT, self._node_ready(rec.ports.apiserver, paths, node))
                for p, node in zip(started, missing, strict=True)))
        except BaseException:
            await asyncio.to_thread(process.stop, started)
            for node in missing:
                await asyncio.to_thread(cleanup_node, paths.root / "podlet" / node)
            started = []
            raise
        finally:
            async with self._lock:  # what runs now, even when a new node failed to start
                now = self.state.clusters[name]
                running = {podlet_component(n) for n in now.nodes if n not in extra} | {p.component for p in started}
                self.state.clusters[name] = replace(
                    now, processes=(*(p for p in now.processes if p not in gone), *started),
                    nodes=tuple(n for n in wanted if podlet_component(n) in running))
                self.state.save()
        self.progress(f"{name}: now runs {count} node(s): {', '.join(wanted)}")

    async def _forget_node(self, port: int, paths: ClusterPaths, node: str) -> None:
        """Delete a stopped node's Node, Lease and pods (with no grace: nothing runs them any more)."""
        ctx = ssl.create_default_context(cafile=str(paths.pki.ca.cert))
        admin = paths.pki.pair("admin")
        ctx.load_cert_chain(admin.cert, admin.key)
        base = f"https://127.0.0.1:{port}"
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
            paths_to_delete = [f"/api/v1/nodes/{node}",
                               f"/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/{node}"]
            try:
                async with session.get(f"{base}/api/v1/pods", params={"fieldSelector": f"spec.nodeName={node}"},
                                       ssl=ctx) as r:
                    pods = (await r.json()).get("items", []) if r.status == 200 else []
            except (aiohttp.ClientError, TimeoutError, OSError, ValueError) as e:
                self.progress(f"listing the pods of node {node} failed: {e}")
                pods = []
            paths_to_delete += [f"/api/v1/namespaces/{p['metadata']['namespace']}/pods/{p['metadata']['name']}"
                                for p in pods]
            for path in paths_to_delete:
                try:
                    async with session.delete(base + path, json={"gracePeriodSeconds": 0}, ssl=ctx) as r:
                        if r.status not in (200, 202, 404):
                            self.progress(f"deleting {path} answered {r.status}: {(await r.text())[:200]}")
                except (aiohttp.ClientError, TimeoutError, OSError) as e:
                    self.progress(f"deleting {path} failed: {e}")

    async def _start_prometheus(self, plan: ClusterPlan, apiserver_port: int, paths: ClusterPaths,
                                launch: Callable[[str, list[str]], ProcessRecord]) -> int:
        """The discovery loop, then Prometheus on its per-index port (another free one if that is taken)."""
        files = prometheus.PrometheusFiles(paths.root / "prometheus")
        await asyncio.to_thread(prometheus.write_files, files)
        admin = paths.pki.pair("admin")
        written_at = files.targets.stat().st_mtime_ns
        targets = launch("prometheus-targets", prometheus.discovery_command(
            apiserver_port, paths.pki.ca.cert, admin.cert, admin.key, files))

        async def listed() -> bool:  # its first pod list has been written
            return files.targets.stat().st_mtime_ns != written_at
        await self._wait(plan, targets, PROMETHEUS_TIMEOUT, listed)
        preferred = prometheus.preferred_port(plan.index)
        port = preferred if prometheus.can_listen(preferred) else self._ports.one()
        if port != preferred:
            self.progress(f"{plan.name}: port {preferred} is taken; Prometheus listens on {port} instead")
        prom = launch("prometheus", prometheus.prometheus_command(prometheus.PROMETHEUS_BINARY, files, port))

        async def ready() -> bool:
            return await prometheus.ready(port)
        await self._wait(plan, prom, PROMETHEUS_TIMEOUT, ready)
        return port

    async def add_prometheus(self, name: str) -> str:
        """Start a Prometheus for a running cluster that has none; ``down`` stops it with the cluster.

        Returns its HTTP API URL.  For a fleet started without one (``local up`` as non-root, or
        tests that scrape proxies they run themselves).
        """
        rec = self._record(name)
        if rec.prometheus_url is not None:
            return rec.prometheus_url
        paths = self.state.cluster_paths(name)
        mine: list[ProcessRecord] = []

        def launch(component: str, argv: list[str]) -> ProcessRecord:
            mine.append(process.spawn(argv, paths.log(component), component))
            return mine[-1]

        try:
            port = await self._start_prometheus(ClusterPlan(name, rec.index), rec.ports.apiserver, paths, launch)
        except _PortsTaken as e:
            await asyncio.to_thread(process.stop, mine)
            raise ComponentStartError(name, "prometheus", "found its port taken", process.tail(paths.log("prometheus"))
                                      ) from e
        except BaseException:
            await asyncio.to_thread(process.stop, mine)
            raise
        async with self._lock:
            self.state.clusters[name] = replace(rec, processes=(*rec.processes, *mine), prometheus_port=port)
            self.state.save()
        return f"http://127.0.0.1:{port}"

    async def remove_prometheus(self, name: str) -> None:
        """Stop a cluster's Prometheus and its discovery loop; the cluster keeps running."""
        rec = self._record(name)
        gone = [p for p in rec.processes if p.component in PROMETHEUS_COMPONENTS]
        await asyncio.to_thread(process.stop, gone)
        async with self._lock:
            self.state.clusters[name] = replace(
                rec, processes=tuple(p for p in rec.processes if p not in gone), prometheus_port=None)
            self.state.save()

    def _record(self, name: str) -> ClusterRecord:
        if name not in self.state.clusters:
            known = ", ".join(sorted(self.state.clusters)) or "none"
            raise UnknownClusterError(f"no local cluster named {name!r} (running: {known})")
        return self.state.clusters[name]

    async def _wait(self, plan: ClusterPlan, rec: ProcessRecord, limit: float,
                    check: Callable[[], Awaitable[bool]]) -> None:
        deadline = time.monotonic() + limit
        while True:
            if not process.alive(rec):
                log_tail = process.tail(Path(rec.log))
                if "address already in use" in log_tail:
                    raise _PortsTaken()
                raise ComponentStartError(plan.name, rec.component, "exited during start-up", log_tail)
            if await check():
                return
            if time.monotonic() > deadline:
                raise ComponentStartError(plan.name, rec.component, f"was not ready within {limit:.0f}s",
                                          process.tail(Path(rec.log)))
            await asyncio.sleep(0.2)

    def _etcd_ready(self, ports: Ports) -> Callable[[], Awaitable[bool]]:
        async def check() -> bool:
            return await _get_ok(f"http://127.0.0.1:{ports.etcd_client}/health", None)
        return check

    def _https_ready(self, port: int, path: str, paths: ClusterPaths, client: bool = True
                     ) -> Callable[[], Awaitable[bool]]:
        ctx = ssl.create_default_context(cafile=str(paths.pki.ca.cert))
        if client:
            admin = paths.pki.pair("admin")
            ctx.load_cert_chain(admin.cert, admin.key)

        async def check() -> bool:
            return await _get_ok(f"https://127.0.0.1:{port}{path}", ctx)
        return check

    def _node_ready(self, port: int, paths: ClusterPaths, node: str) -> Callable[[], Awaitable[bool]]:
        ctx = ssl.create_default_context(cafile=str(paths.pki.ca.cert))
        admin = paths.pki.pair("admin")
        ctx.load_cert_chain(admin.cert, admin.key)

        async def check() -> bool:
            try:
                async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as session, \
                        session.get(f"https://127.0.0.1:{port}/api/v1/nodes/{node}", ssl=ctx) as r:
                    conditions = (await r.json()).get("status", {}).get("conditions", []) if r.status == 200 else []
            except (aiohttp.ClientError, TimeoutError, OSError, ValueError):
                return False
            return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)
        return check

    def _write_kubeconfigs(self, plan: ClusterPlan, ports: Ports, paths: ClusterPaths) -> None:
        pki = paths.pki
        server = f"https://127.0.0.1:{ports.apiserver}"
        ca = pki.ca.cert.read_bytes()
        for file, pair, user in (
            (paths.kubeconfig, "admin", "admin"),
            (paths.component_kubeconfig("kube-controller-manager"), "controller-manager", "controller-manager"),
            (paths.component_kubeconfig("kube-scheduler"), "scheduler", "scheduler"),
        ):
            cp = pki.pair(pair)
            creds = Credentials(plan.context, server, ca, cp.cert.read_bytes(), cp.key.read_bytes(), user)
            _write_kubeconfig(file, document([creds]))

    def _write_merged_kubeconfig(self) -> None:
        entries = []
        for rec in sorted(self.state.clusters.values(), key=lambda c: c.index):
            pki = self.state.cluster_paths(rec.name).pki
            admin = pki.pair("admin")
            entries.append(Credentials(context_name(rec.name), rec.api_url, pki.ca.cert.read_bytes(),
                                       admin.cert.read_bytes(), admin.key.read_bytes(), "admin"))
        if entries:
            _write_kubeconfig(self.state.kubeconfig, document(entries))
        else:
            self.state.kubeconfig.unlink(missing_ok=True)

    # ---- down / status -------------------------------------------------------------------------

    def add_service(self, name: str, rec: ProcessRecord) -> None:
        """Record a fleet-wide process so that ``down`` stops it with the clusters."""
        self.state.services[name] = rec
        self.state.save()

    async def down(self, keep: bool = False) -> None:
        await asyncio.to_thread(process.stop, list(self.state.services.values()))
        self.state.services.clear()
        self.state.save()
        everything = [p for c in self.state.clusters.values() for p in c.processes]
        await asyncio.to_thread(process.stop, everything)
        await asyncio.to_thread(self._remove_pod_leftovers)
        if keep:
            return
        for name in list(self.state.clusters):
            shutil.rmtree(self.state.cluster_paths(name).root, ignore_errors=True)
        self.state.clusters.clear()
        self.state.kubeconfig.unlink(missing_ok=True)
        self.state.file.unlink(missing_ok=True)
        for extra in FLEET_EXTRAS:  # what `meshfleet up` keeps next to the clusters
            path = self.state.root / extra
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
        with contextlib.suppress(OSError):
            (self.state.root / "clusters").rmdir()

    def _remove_pod_leftovers(self) -> None:
        """A podlet stopped mid-teardown leaves pods behind; its records say exactly what to remove."""
        from fleet.local.podlet.records import cleanup_node

        for name in self.state.clusters:
            for node_dir in sorted((self.state.cluster_paths(name).root / "podlet").glob("*")):
                removed = cleanup_node(node_dir)
                if removed:
                    self.progress(f"{name}: removed {', '.join(removed)}")

    async def status_async(self) -> list[ClusterStatus]:
        recs = sorted(self.state.clusters.values(), key=lambda c: c.index)
        return list(await asyncio.gather(*(self._cluster_status(r) for r in recs)))

    async def _cluster_status(self, rec: ClusterRecord) -> ClusterStatus:
        paths = self.state.cluster_paths(rec.name)
        all_alive = all(process.alive(p) for p in rec.processes)
        ready = all_alive and await self._https_ready(rec.ports.apiserver, "/readyz", paths)()
        api = next((p for p in rec.processes if p.component == "kube-apiserver"), None)
        uptime = process.uptime_seconds(api) if api is not None and process.alive(api) else 0.0
        return ClusterStatus(rec.name, rec.api_url, context_name(rec.name), ready, uptime,
                             {p.component: p.pid for p in rec.processes}, str(paths.kubeconfig), rec.prometheus_url,
                             rec.nodes)

    def kubeconfig_path(self, cluster: str | None = None) -> Path:
        if cluster is None:
            return self.state.kubeconfig
        if cluster not in self.state.clusters:
            known = ", ".join(sorted(self.state.clusters)) or "none"
            raise UnknownClusterError(f"no local cluster named {cluster!r} (running: {known})")
        return self.state.cluster_paths(cluster).kubeconfig

    def processes(self) -> list[ProcessRecord]:
        return [p for c in self.state.clusters.values() for p in c.processes]


async def _get_ok(url: str, ctx: ssl.SSLContext | None) -> bool:
    try:
        timeout = aiohttp.ClientTimeout(total=2)
        async with aiohttp.ClientSession(timeout=timeout) as session, session.get(url, ssl=ctx or False) as r:
            body = await r.text()
            return r.status == 200 and ("ok" in body or "true" in body)
    except (aiohttp.ClientError, TimeoutError, OSError):
        return False


def _write_kubeconfig(path: Path, doc: dict[str, object]) -> None:
    from fleet.local.certs import write_private

    path.parent.mkdir(parents=True, exist_ok=True)
    write_private(path, yaml.safe_dump(doc, sort_keys=False).encode())


def status_table(rows: list[ClusterStatus]) -> str:
    header = ("CLUSTER", "API SERVER", "READY", "UPTIME", "NODES", "PIDS")
    body = [
        (r.name, r.api_url, "yes" if r.ready else "NO", _duration(r.uptime_seconds), str(len(r.nodes)),
         " ".join(f"{k.removeprefix('kube-')}={v}" for k, v in r.pids.items()))
        for r in rows
    ]
    widths = [max(len(str(x)) for x in col) for col in zip(header, *body, strict=False)]
    lines = ["  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
             for row in (header, *body)]
    return "\n".join(lines)


def status_json(rows: list[ClusterStatus]) -> str:
    return json.dumps({"clusters": [r.to_json() for r in rows]}, indent=2)


def _duration(seconds: float) -> str:
    s = int(seconds)
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{(s % 3600) // 60:02d}m"
