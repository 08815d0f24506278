"""Podlet benchmark (issue 3): a Deployment of `meshfleet demo-app` from creation to every pod Ready.

Run as root: .venv/bin/python bench/podlet_pods.py [--replicas 50] [--reference 1]

One local cluster with its podlet (`LocalFleet(..., podlets=True)`) in a temp state directory.
Each round creates a Deployment (image ghcr.io/meshfleet/meshfleet:0.1.0, command
`meshfleet demo-app`, an httpGet readiness probe on /healthz every second) and polls the API
server every 0.2 s until every pod of it is Ready, then deletes it and waits until its pods are
gone. The reference round (1 replica) runs first, in the same cluster and run, so the per-pod
cost of the big round can be read against it. Resident memory of the podlet (VmRSS from /proc)
is read before the first round, with every pod of the big round Ready, and after its deletion.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fleet.local.fleet import LocalFleet
from fleet.local.podlet.api import Kube
from fleet.local.podlet.errors import NotFound
from fleet.local.topology import node_name, podlet_component

IMAGE = "ghcr.io/meshfleet/meshfleet:0.1.0"
TICKS = os.sysconf("SC_CLK_TCK")
CLUSTER = "central"  # a default name: its pod network (10.104.0.0/16) is rarely taken by another local fleet


def rss_mib(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def cpu_seconds(pid: int) -> float:
    raw = Path(f"/proc/{pid}/stat").read_text()
    fields = raw[raw.rindex(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def load_note() -> str:
    return "load average " + " ".join(Path("/proc/loadavg").read_text().split()[:3])


def deployment(name: str, replicas: int) -> dict[str, Any]:
    container = {
        "name": "app", "image": IMAGE,
        "command": ["meshfleet", "demo-app"], "args": ["--name", name, "--latency", "fixed:1"],
        "ports": [{"name": "http", "containerPort": 8080}],
        "readinessProbe": {"httpGet": {"path": "/healthz", "port": "http"}, "periodSeconds": 1},
    }
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"containers": [container], "terminationGracePeriodSeconds": 5}}}}


def _ready_at(pod: dict[str, Any]) -> datetime | None:
    for c in pod.get("status", {}).get("conditions") or []:
        if c["type"] == "Ready" and c["status"] == "True":
            return datetime.fromisoformat(c["lastTransitionTime"].replace("Z", "+00:00"))
    return None


async def pods_of(kube: Kube, ns: str, app: str) -> list[dict[str, Any]]:
    out = await kube.request("GET", f"/api/v1/namespaces/{ns}/pods", params={"labelSelector": f"app={app}"})
    return list(out["items"])


class Round:
    def __init__(self, replicas: int) -> None:
        self.replicas = replicas
        self.all_ready = 0.0
        self.first_ready = 0.0
        self.created: list[float] = []  # pod object created, seconds after the Deployment
        self.ready: list[float] = []  # pod Ready (as seen by polling), seconds after the Deployment
        self.deleted = 0.0
        self.podlet_cpu = 0.0
        self.load = (0.0, 0.0)  # 1-minute load average when the Deployment was created, and at all Ready


async def one_round(kube: Kube, ns: str, replicas: int, podlet_pid: int, podlet_dir: Path,
                    on_ready: Any = None) -> Round:
    name = f"demo-{replicas}"
    r = Round(replicas)
    cpu0 = cpu_seconds(podlet_pid)
    load0 = os.getloadavg()[0]
    t0 = time.monotonic()
    await kube.create(f"/apis/apps/v1/namespaces/{ns}/deployments", deployment(name, replicas))
    seen_created: dict[str, float] = {}
    seen_ready: dict[str, float] = {}
    while True:
        now = time.monotonic() - t0
        for pod in await pods_of(kube, ns, name):
            uid = pod["metadata"]["uid"]
            seen_created.setdefault(uid, now)
            if uid not in seen_ready and _ready_at(pod) is not None:
                seen_ready[uid] = now
        if len(seen_ready) >= replicas:
            break
        if now > 240:
            raise RuntimeError(f"{name}: only {len(seen_ready)}/{replicas} pods Ready after 240 s")
        await asyncio.sleep(0.2)
    r.all_ready = time.monotonic() - t0
    r.load = (load0, os.getloadavg()[0])
    r.podlet_cpu = cpu_seconds(podlet_pid) - cpu0
    r.created = sorted(seen_created.values())
    r.ready = sorted(seen_ready.values())
    r.first_ready = r.ready[0]
    if on_ready is not None:
        await on_ready(name)
    t1 = time.monotonic()
    await kube.delete(f"/apis/apps/v1/namespaces/{ns}/deployments/{name}",
                      {"propagationPolicy": "Foreground"})
    while await pods_of(kube, ns, name) or any((podlet_dir / "pods").glob("*")):
        if time.monotonic() - t1 > 120:
            raise RuntimeError(f"{name}: pods still present 120 s after deletion")
        await asyncio.sleep(0.2)
    r.deleted = time.monotonic() - t1
    return r


def pod_processes(podlet_dir: Path) -> tuple[int, float, float]:
    """(container processes, their summed VmRSS in MiB, their summed CPU seconds) from the podlet's records."""
    count, total, cpu = 0, 0.0, 0.0
    for rec_file in (podlet_dir / "pods").glob("*/record.json"):
        rec = json.loads(rec_file.read_text())
        for pid, _ticks in rec.get("pids", []):
            mib = rss_mib(int(pid))
            if mib:
                count += 1
                total += mib
                cpu += cpu_seconds(int(pid))
    return count, total, cpu


async def bench(state: Path, replicas: int, reference: int) -> None:
    fleet = LocalFleet(state, lambda m: print(f"  [local] {m}", file=sys.stderr), podlets=True)
    try:
        t0 = time.monotonic()
        rows = await fleet.up((CLUSTER,))
        assert all(r.ready for r in rows), rows
        print(f"cluster {CLUSTER} with its podlet up in {time.monotonic() - t0:.1f} s", file=sys.stderr)
        node = node_name(CLUSTER, 1)
        podlet_pid = next(p.pid for p in fleet.processes() if p.component == podlet_component(node))
        podlet_dir = fleet.state.cluster_paths(CLUSTER).root / "podlet" / node
        pki = fleet.state.cluster_paths(CLUSTER).pki
        async with Kube(fleet.state.clusters[CLUSTER].api_url, pki.ca.cert, pki.pair("admin").cert,
                        pki.pair("admin").key) as kube:
            ns = "bench"
            await kube.create("/api/v1/namespaces", {"metadata": {"name": ns}})
            while True:
                try:
                    await kube.get(f"/api/v1/namespaces/{ns}/serviceaccounts/default")
                    break
                except NotFound:
                    await asyncio.sleep(0.2)
            await asyncio.sleep(3)
            idle = rss_mib(podlet_pid)
            ref = await one_round(kube, ns, reference, podlet_pid, podlet_dir)
            await asyncio.sleep(3)
            measured: dict[str, float] = {}

            async def at_peak(_name: str) -> None:
                n, _total, cpu = pod_processes(podlet_dir)  # CPU at once: the start-up, before idle probes
                await asyncio.sleep(5)  # probes keep running; memory is read with the pods settled
                measured["podlet"] = rss_mib(podlet_pid)
                n, total, _cpu = pod_processes(podlet_dir)
                measured["pods"], measured["pods_rss"], measured["pods_cpu"] = n, total, cpu

            big = await one_round(kube, ns, replicas, podlet_pid, podlet_dir, at_peak)
            await asyncio.sleep(3)
            after = rss_mib(podlet_pid)
    finally:
        await fleet.down()

    print(f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores, {load_note()}")
    for r in (ref, big):
        per_pod = ""
        if r.replicas > 1:
            per_pod = (f"; Ready times p50 {statistics.median(r.ready):.2f} s, "
                       f"last pod object created at {r.created[-1]:.2f} s")
        print(f"{r.replicas} pod(s): all Ready {r.all_ready:.2f} s after the Deployment was created "
              f"(first Ready {r.first_ready:.2f} s{per_pod}); podlet CPU {r.podlet_cpu:.2f} s; "
              f"deletion until every pod is gone {r.deleted:.2f} s; "
              f"1-min load average {r.load[0]:.2f} at creation, {r.load[1]:.2f} at all Ready")
    extra = (big.all_ready - ref.all_ready) / max(1, big.replicas - ref.replicas)
    print(f"per additional pod: {extra * 1000:.0f} ms of wall time "
          f"({big.replicas} pods vs {ref.replicas}); podlet CPU per pod {big.podlet_cpu / big.replicas * 1000:.0f} ms")
    print(f"podlet resident memory: idle {idle:.1f} MiB, with {replicas} pods Ready {measured['podlet']:.1f} MiB, "
          f"after their deletion {after:.1f} MiB")
    print(f"container processes running: {measured['pods']:.0f}, their resident memory "
          f"{measured['pods_rss']:.0f} MiB ({measured['pods_rss'] / max(1, measured['pods']):.1f} MiB each); "
          f"their CPU from start to all Ready {measured['pods_cpu']:.1f} s "
          f"({measured['pods_cpu'] / max(1, measured['pods']):.2f} s each)")


def import_floor(times: int = 3) -> tuple[float, float]:
    """(CPU seconds, MiB) of a bare interpreter importing the demo app: the least each container costs."""
    import resource
    import subprocess

    # The child reports its own peak (VmHWM): ru_maxrss would count the copy of this big process
    # that the child was before its exec.
    code = ("import fleet.cli, mesh.demo._app; print([l.split()[1] for l in open('/proc/self/status') "
            "if l.startswith('VmHWM:')][0])")
    cpus, rss = [], []
    for _ in range(times):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
        rss.append(int(out) / 1024)
    return statistics.median(cpus), max(rss)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--replicas", type=int, default=50)
    ap.add_argument("--reference", type=int, default=1)
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("bench/podlet_pods.py: the podlet needs root (network and mount namespaces)")
    print(f"start: {load_note()}", file=sys.stderr)
    cpu, mib = import_floor()
    with tempfile.TemporaryDirectory(prefix="mf-bench-pods-") as d:
        asyncio.run(bench(Path(d), args.replicas, args.reference))
    print(f"reference: `python -c 'import fleet.cli, mesh.demo._app'` alone costs {cpu:.2f} s CPU (median of 3) "
          f"and {mib:.0f} MiB peak; x {args.replicas} = {cpu * args.replicas:.1f} s CPU on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
