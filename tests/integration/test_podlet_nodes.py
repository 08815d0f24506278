"""`meshfleet local up --nodes 2`: two podlets per cluster; pods on both nodes reach each other, and pods
of another cluster's second node.

The cluster is started and stopped through the real command line in a state
directory of its own, so what is checked is what a user gets: the Nodes, the
pod network across them, `local status`, and what `local down` leaves behind.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fleet.local.podlet.api import Kube
from fleet.local.podlet.errors import NotFound
from fleet.local.podlet.naming import NodeNetwork
from fleet.local.state import FleetState
from fleet.local.topology import podlet_component
from tests.integration.test_podlet import _alive, _demo, _http, _netns, _node_ready, _running_pod, _wait_for

pytestmark = [pytest.mark.cluster, pytest.mark.root, pytest.mark.netns, pytest.mark.slow]

# Not default names: their pod ranges are 10.105.0.0/16 and 10.106.0.0/16 (indexes 5 and 6), apart from
# the session's fleet.
CLUSTER, OTHER = "duo", "trio"
NODES = ("duo-node-1", "duo-node-2")
OTHER_NODES = ("trio-node-1", "trio-node-2")


def _meshfleet(state: Path, *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MESHFLEET_LOCAL_STATE": str(state)}
    return subprocess.run([sys.executable, "-m", "fleet.cli", *args], capture_output=True, text=True, env=env,
                          timeout=timeout, check=False)


@pytest.fixture(scope="module")
def two_nodes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    state = tmp_path_factory.mktemp("two-nodes")
    try:
        up = _meshfleet(state, "local", "up", "--names", f"{CLUSTER},{OTHER}", "--nodes", "2")
        assert up.returncode == 0, up.stdout + up.stderr
        yield state
    finally:
        _meshfleet(state, "local", "down")


def _kube(state: Path, cluster: str = CLUSTER) -> Kube:
    fleet = FleetState.load(state)
    pki = fleet.cluster_paths(cluster).pki
    return Kube(fleet.clusters[cluster].api_url, pki.ca.cert, pki.pair("admin").cert, pki.pair("admin").key)


def _links() -> set[str]:
    out = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True, check=True).stdout
    return {line.split(":")[1].strip().split("@")[0] for line in out.splitlines()}


def _pod_records(state: Path) -> list[dict[str, Any]]:
    fleet = FleetState(state)
    return [json.loads(f.read_text()) for c in (CLUSTER, OTHER)
            for f in (fleet.cluster_paths(c).root / "podlet").glob("*/pods/*/record.json")]


async def _remote_pod(state: Path) -> str:
    """A pod on the other cluster's second node; returns its IP."""
    async with _kube(state, OTHER) as kube:
        await kube.create("/api/v1/namespaces", {"metadata": {"name": "nodes"}})
        await _wait_for("the default ServiceAccount there", lambda: _sa(kube, "nodes"))
        await kube.create("/api/v1/namespaces/nodes/pods", {"metadata": {"name": "remote"}, "spec": {
            "nodeName": OTHER_NODES[1], "containers": [_demo("remote")]}})
        return str((await _running_pod(kube, "nodes", "remote", 90))["status"]["podIP"])


async def _spread_web(kube: Kube, ns: str) -> list[dict[str, Any]]:
    """Two replicas that the scheduler must put on different nodes."""
    spread = [{"maxSkew": 1, "topologyKey": "kubernetes.io/hostname", "whenUnsatisfiable": "DoNotSchedule",
               "labelSelector": {"matchLabels": {"app": "web"}}}]
    await kube.create(f"/apis/apps/v1/namespaces/{ns}/deployments", {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}},
                              "spec": {"topologySpreadConstraints": spread, "containers": [_demo("web")]}}}})
    await kube.create(f"/api/v1/namespaces/{ns}/services", {"metadata": {"name": "web"}, "spec": {
        "selector": {"app": "web"}, "ports": [{"name": "http", "port": 80, "targetPort": "http"}]}})

    async def available() -> bool:
        d = await kube.get(f"/apis/apps/v1/namespaces/{ns}/deployments/web")
        return d.get("status", {}).get("availableReplicas") == 2
    await _wait_for("2 available replicas", available, 120)
    out = await kube.request("GET", f"/api/v1/namespaces/{ns}/pods", params={"labelSelector": "app=web"})
    return list(out["items"])


async def _check_two_nodes(state: Path) -> None:
    remote_ip = await _remote_pod(state)
    async with _kube(state) as kube:
        cidrs = []
        for node in NODES:
            await _wait_for(f"{node} Ready", lambda node=node: _node_ready(kube, node), 60)
            cidrs.append(ipaddress.ip_network((await kube.get(f"/api/v1/nodes/{node}"))["spec"]["podCIDR"]))
        cluster_range = ipaddress.ip_network("10.105.0.0/16")
        assert cidrs[0] != cidrs[1]
        assert not cidrs[0].overlaps(cidrs[1])
        assert all(c.subnet_of(cluster_range) for c in cidrs)  # type: ignore[arg-type]

        ns = "nodes"
        await kube.create("/api/v1/namespaces", {"metadata": {"name": ns}})
        await _wait_for("the default ServiceAccount", lambda: _sa(kube, ns))
        pods = await _spread_web(kube, ns)
        by_node = {p["spec"]["nodeName"]: p for p in pods}
        assert set(by_node) == set(NODES)
        far = by_node[NODES[1]]
        far_ip = far["status"]["podIP"]
        assert ipaddress.ip_address(far_ip) in cidrs[1]
        # A Service whose only endpoint is the pod on node 2, so its ClusterIP and name must cross nodes.
        await kube.merge_patch(f"/api/v1/namespaces/{ns}/pods/{far['metadata']['name']}",
                               {"metadata": {"labels": {"side": "far"}}})
        await kube.create(f"/api/v1/namespaces/{ns}/services", {"metadata": {"name": "far"}, "spec": {
            "selector": {"app": "web", "side": "far"}, "ports": [{"name": "http", "port": 80, "targetPort": "http"}]}})
        far_cluster_ip = (await kube.get(f"/api/v1/namespaces/{ns}/services/far"))["spec"]["clusterIP"]
        targets = [f"http://{far_ip}:8080/", f"http://{far_cluster_ip}/", "http://far/",
                   f"http://far.{ns}.svc.cluster.local/", "http://web/", f"http://{remote_ip}:8080/"]
        await kube.create(f"/api/v1/namespaces/{ns}/pods", {"metadata": {"name": "client"}, "spec": {
            "nodeName": NODES[0], "containers": [_demo("client", *(a for t in targets for a in ("--downstream", t)))]}})
        client = await _running_pod(kube, ns, "client", 90)
        assert ipaddress.ip_address(client["status"]["podIP"]) in cidrs[0]

        async def answered() -> dict[str, Any] | None:
            status, body = await _http(f"http://{client['status']['podIP']}:8080/")
            return body if status == 200 else None
        # The far endpoint reaches node 1's Service rules a moment after the pod label changes.
        body = await _wait_for("every target answering through node 1's client", answered, 30)
        hosts = [d["host"] for d in body["downstream"]]
        assert hosts[:4] == [far["metadata"]["name"]] * 4
        assert hosts[4] in {p["metadata"]["name"] for p in pods}
        assert hosts[5] == "remote"  # the other cluster's pod, through the host


async def _sa(kube: Kube, ns: str) -> bool:
    out = await kube.request("GET", f"/api/v1/namespaces/{ns}/serviceaccounts")
    return any(sa["metadata"]["name"] == "default" for sa in out["items"])


def test_two_nodes_run_pods_that_reach_each_other(two_nodes: Path) -> None:
    state = two_nodes
    status = _meshfleet(state, "local", "status", "-o", "json", timeout=60)
    assert status.returncode == 0, status.stderr
    rows = {r["name"]: r for r in json.loads(status.stdout)["clusters"]}
    assert all(r["ready"] for r in rows.values())
    assert rows[CLUSTER]["nodes"] == list(NODES)
    assert rows[OTHER]["nodes"] == list(OTHER_NODES)
    asyncio.run(_check_two_nodes(state))


def _bridge(node_dir: Path) -> str:
    return NodeNetwork(json.loads((node_dir / "node.json").read_text())["podCIDR"]).bridge


def test_local_up_with_another_node_count_stops_and_starts_podlets(two_nodes: Path) -> None:
    state = two_nodes
    before = FleetState.load(state).clusters[CLUSTER]
    second = next(p for p in before.processes if p.component == podlet_component(NODES[1]))
    node_dir = FleetState(state).cluster_paths(CLUSTER).root / "podlet" / NODES[1]
    bridge = _bridge(node_dir)
    records = [json.loads(f.read_text()) for f in node_dir.glob("pods/*/record.json")]
    assert records  # the web pod that the first test spread onto this node
    containers = [(int(pid), int(ticks)) for r in records for pid, ticks in r["pids"]]

    fewer = _meshfleet(state, "local", "up", "--names", CLUSTER, "--nodes", "1")
    assert fewer.returncode == 0, fewer.stderr
    assert FleetState.load(state).clusters[CLUSTER].nodes == NODES[:1]
    assert FleetState.load(state).clusters[OTHER].nodes == OTHER_NODES  # not named: left alone
    assert not _alive(second.pid, second.start_ticks)
    assert not [p for p in containers if _alive(*p)]
    assert bridge not in _links()
    assert not {r["netns"] for r in records} & _netns()

    async def web_back_on_node_1() -> None:
        async with _kube(state) as kube:
            with pytest.raises(NotFound):
                await kube.get(f"/api/v1/nodes/{NODES[1]}")

            async def replaced() -> bool:
                d = await kube.get("/apis/apps/v1/namespaces/nodes/deployments/web")
                out = await kube.request("GET", "/api/v1/namespaces/nodes/pods", params={"labelSelector": "app=web"})
                return d["status"].get("availableReplicas") == 2 and \
                    {p["spec"].get("nodeName") for p in out["items"]} == {NODES[0]}
            await _wait_for("the web pods replaced on node 1", replaced, 60)
    asyncio.run(web_back_on_node_1())

    more = _meshfleet(state, "local", "up", "--names", CLUSTER, "--nodes", "2")
    assert more.returncode == 0, more.stderr
    assert FleetState.load(state).clusters[CLUSTER].nodes == NODES

    async def node_2_ready() -> None:
        async with _kube(state) as kube:
            await _wait_for(f"{NODES[1]} Ready", lambda: _node_ready(kube, NODES[1]), 30)
    asyncio.run(node_2_ready())
    assert _bridge(node_dir) in _links()


def test_a_cluster_started_again_from_kept_state_keeps_its_nodes(two_nodes: Path) -> None:
    state = two_nodes
    down = _meshfleet(state, "local", "down", "--keep", timeout=120)
    assert down.returncode == 0, down.stderr
    assert not {b for b in _links() if b.startswith("mfbr-105-") or b.startswith("mfbr-106-")}
    up = _meshfleet(state, "local", "up", "--names", f"{CLUSTER},{OTHER}")
    assert up.returncode == 0, up.stdout + up.stderr
    fleet = FleetState.load(state)
    assert fleet.clusters[CLUSTER].nodes == NODES
    assert fleet.clusters[OTHER].nodes == OTHER_NODES

    async def both_ready() -> None:
        async with _kube(state) as kube:
            for node in NODES:
                await _wait_for(f"{node} Ready", lambda node=node: _node_ready(kube, node), 30)

        async def pods_run_again() -> bool:  # the pods kept in etcd run again on the new podlets
            records = _pod_records(state)
            return len(records) >= 4 and all(any(_alive(int(p), int(t)) for p, t in r["pids"]) for r in records)
        await _wait_for("every pod running again", pods_run_again, 60)
    asyncio.run(both_ready())


def test_local_down_leaves_no_process_namespace_bridge_or_veth(two_nodes: Path) -> None:
    state = two_nodes
    fleet = FleetState.load(state)
    processes = [(p.pid, p.start_ticks) for c in fleet.clusters.values() for p in c.processes]
    podlets = [p for c in fleet.clusters.values() for p in c.processes if p.component.startswith("podlet-")]
    assert len(podlets) == 4
    records = _pod_records(state)
    containers = [(int(pid), int(ticks)) for r in records for pid, ticks in r["pids"]]
    assert containers
    assert all(_alive(*p) for p in containers)
    bridges = {_bridge(fleet.cluster_paths(c).root / "podlet" / n)
               for c, nodes in ((CLUSTER, NODES), (OTHER, OTHER_NODES)) for n in nodes}
    netns = {r["netns"] for r in records}
    veths = {r["veth"] for r in records}
    assert len(bridges) == 4
    assert bridges <= _links()
    assert netns <= _netns()
    assert veths <= _links()

    down = _meshfleet(state, "local", "down", timeout=120)
    assert down.returncode == 0, down.stderr
    assert not [p for p in processes + containers if _alive(*p)]
    assert not netns & _netns()
    assert not (bridges | veths) & _links()
    assert not FleetState.load(state).clusters
