"""Two linked local clusters: a meshed pod in one calls a service exported by the other.

The fleet repository names two clusters, ``e2e-a`` linking to ``e2e-b``, both
with the demo namespace (whose ``backend`` Service is exported). ``meshfleet
watch`` reconciles both and runs the mirror for the link; a caller in A then
reaches ``backend-e2e-b`` and is answered by a backend pod of B, through B's
gateway, with mutual TLS on both legs. Then ``meshfleet trust rotate``
replaces the fleet's anchor across both clusters while that cross-cluster
traffic keeps flowing, and not one request may fail.

Needs the first two clusters of the session's fleet (alpha and beta).
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from fleet.local.podlet.agent import default_node_name
from fleet.local.podlet.records import cleanup_node
from fleet.reconcile.cli import parse_watch_args, watch
from fleet.trust.keystore import Keystore
from fleet.trust.rotate import RotateOptions, rotate
from fleet.trust.rotation_observe import anchor_of_metrics
from mesh.manifests import DEMO_NAMESPACE
from tests.integration.test_mesh_e2e import (
    MESH_NS,
    Mesh,
    Traffic,
    _get_json,
    _metrics,
    _pods,
    _ready_pods,
    _remove_mesh,
    _sum,
    fleet_repo,
    identity,
    keep_calling,
    none_terminating,
    wait_for,
)
from tests.integration.test_podlet import Podlets, _node_ready

pytestmark = [pytest.mark.cluster, pytest.mark.root, pytest.mark.netns, pytest.mark.slow]

REPO_ROOT = Path(__file__).resolve().parents[2]
NS = DEMO_NAMESPACE
GATEWAY = identity("gateway", MESH_NS)
MIRROR = "backend-e2e-b"


def _linked_clusters(members: dict[str, tuple[str, int]]) -> dict[str, dict[str, Any]]:
    """``members``: cluster name -> (kubeconfig context, index in the local fleet); e2e-a links to e2e-b."""
    clusters: dict[str, dict[str, Any]] = {}
    for name, (context, index) in members.items():
        clusters[name] = {
            "kubeconfigContext": context,
            "network": {"podCIDR": f"10.{100 + index}.0.0/16", "serviceCIDR": f"10.{200 + index}.0.0/16"},
            **({"links": ["e2e-b"]} if name == "e2e-a" else {}),
        }
    return clusters


class Watcher:
    """``meshfleet watch`` in a thread of its own, stopped like SIGTERM would stop it."""

    def __init__(self, argv: list[str]) -> None:
        self.args = parse_watch_args(argv)
        self._loop = asyncio.new_event_loop()
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.result: int | BaseException | None = None

    def _run(self) -> None:
        async def go() -> int:
            self._stop = asyncio.Event()
            self._ready.set()
            return await watch(self.args, self._stop, signals=False)

        try:
            self.result = self._loop.run_until_complete(go())
        except BaseException as e:  # reported by stop()
            self.result = e
        finally:
            self._loop.close()

    def start(self) -> None:
        self._thread.start()
        self._ready.wait(10)

    def stop(self) -> None:
        if self._stop is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(60)
        if isinstance(self.result, BaseException):
            raise self.result


@dataclass
class Linked:
    a: Mesh
    b: Mesh
    repo: Path
    keystore: Path
    kubeconfig: Path


async def _demo_ready(m: Mesh) -> None:
    async with m.kube() as kube:
        for sel in ("app=web", "app=backend"):
            await wait_for(f"{sel} Ready in {m.cluster}", lambda sel=sel: _ready_pods(kube, sel, 1), 300)


@pytest.fixture(scope="module")
def linked(local_fleet: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Linked]:
    from fleet.local.state import FleetState

    tmp = tmp_path_factory.mktemp("multicluster")
    state = FleetState.load(local_fleet.state_dir)
    names = sorted(local_fleet.clusters, key=lambda c: state.clusters[c].index)
    if len(names) < 2:
        pytest.skip("needs two local clusters (MESHFLEET_TEST_CLUSTERS)")
    a_name, b_name = names[:2]
    podlets = Podlets(local_fleet.state_dir)
    a, b = Mesh(podlets, a_name), Mesh(podlets, b_name)
    watcher: Watcher | None = None
    try:
        for m in (a, b):
            podlets.start(m.cluster)

        async def settled(m: Mesh) -> None:
            async with m.kube() as kube:
                await wait_for("the node Ready", lambda: _node_ready(kube, default_node_name(m.cluster)), 90)
                await wait_for("no namespace left Terminating", lambda: none_terminating(kube), 120)

        for m in (a, b):
            m.run(settled(m))
        members = {"e2e-a": (f"meshfleet-{a_name}", state.clusters[a_name].index),
                   "e2e-b": (f"meshfleet-{b_name}", state.clusters[b_name].index)}
        fleet_repo(tmp / "repo", _linked_clusters(members), tmp / "keystore")
        watcher = Watcher(["--repo", str(tmp / "repo"), "--kubeconfig", str(local_fleet.kubeconfig),
                           "--cache", str(tmp / "cache"), "--keystore", str(tmp / "keystore"),
                           "--state-dir", str(tmp / "state"), "--listen", "127.0.0.1:0", "--resync", "2",
                           "--poll", "1"])
        watcher.start()
        for m in (a, b):
            m.run(_demo_ready(m))
        yield Linked(a, b, tmp / "repo", tmp / "keystore", local_fleet.kubeconfig)
    finally:
        try:
            if watcher is not None:
                watcher.stop()  # first: it would put back what the teardown removes
        finally:
            for m in (a, b):
                with contextlib.suppress(Exception):
                    m.run(_remove_mesh(m))
            for m in (a, b):
                podlets.stop(m.cluster)
                cleanup_node(podlets.node_dir(m.cluster))


async def _caller(m: Mesh, url: str) -> str:
    """A meshed demo-app in the demo namespace of ``m`` that calls ``url``; its pod IP once Ready."""
    async with m.kube() as kube:
        web = await kube.get(f"/apis/apps/v1/namespaces/{NS}/deployments/web")
        caller = copy.deepcopy(web)
        caller["metadata"] = {"name": "caller", "namespace": NS, "labels": {"app": "caller"}}
        caller["spec"]["selector"] = {"matchLabels": {"app": "caller"}}
        template = caller["spec"]["template"]
        template["metadata"] = {"labels": {"app": "caller"}}
        container = template["spec"]["containers"][0]
        container["args"] = [a for a in container["args"] if not a.startswith(("--downstream=", "--name="))]
        container["args"] += ["--name=caller", f"--downstream={url}"]
        caller.pop("status", None)
        await kube.create(f"/apis/apps/v1/namespaces/{NS}/deployments", caller)
        pods = await wait_for("the caller Ready", lambda: _ready_pods(kube, "app=caller", 1), 180)
        return str(pods[0]["status"]["podIP"])


@dataclass
class Caller:
    ip: str
    b_backends: dict[str, str]  # pod name -> pod IP, in cluster B


@pytest.fixture(scope="module")
def caller(linked: Linked) -> Caller:
    """A meshed caller in A of ``backend-e2e-b``, once the mirror exists and the path answers."""

    async def make() -> Caller:
        async with linked.a.kube() as kube_a:

            async def mirrored() -> bool:
                svc = await kube_a.get(f"/api/v1/namespaces/{NS}/services/{MIRROR}")
                slices = await kube_a.get(f"/apis/discovery.k8s.io/v1/namespaces/{NS}/endpointslices"
                                          f"?labelSelector=kubernetes.io/service-name%3D{MIRROR}")
                return bool(svc) and any(s.get("endpoints") for s in slices.get("items", []))

            await wait_for("the mirror of e2e-b's backend in e2e-a", mirrored, 120)
        ip = await _caller(linked.a, f"http://{MIRROR}.{NS}.svc.cluster.local:8080/")
        async with linked.b.kube() as kube_b:
            b_backends = {p["metadata"]["name"]: p["status"]["podIP"] for p in await _pods(kube_b, "app=backend")}
        async with aiohttp.ClientSession() as s:

            async def answered() -> Any:
                status, body = await _get_json(s, f"http://{ip}:8080/")
                return body if status == 200 else None

            await wait_for("the caller answered through the gateway", answered, 90)
        return Caller(ip, b_backends)

    result: Caller = linked.a.run(make())
    return result


def test_a_service_exported_by_one_cluster_answers_callers_in_the_linked_one(linked: Linked, caller: Caller) -> None:
    async def check() -> None:
        async with aiohttp.ClientSession() as s:
            for _ in range(10):
                status, body = await _get_json(s, f"http://{caller.ip}:8080/")
                assert status == 200, body
        (downstream,) = body["downstream"]
        assert downstream["service"] == "backend"
        assert downstream["host"] in caller.b_backends, (downstream, caller.b_backends)  # the other cluster
        caller_metrics = await _metrics(caller.ip)
        assert _sum(caller_metrics, "response_total", direction="outbound", tls="true", server_id=GATEWAY,
                    status_code="200") >= 10
        backend_metrics = await _metrics(caller.b_backends[downstream["host"]])
        assert _sum(backend_metrics, "response_total", direction="inbound", tls="true", client_id=GATEWAY) >= 1

    linked.a.run(check())


async def _anchors(m: Mesh) -> dict[str, str | None]:
    """The anchor each proxy's leaf chains to: the demo pods' sidecars and the gateway."""
    async with m.kube() as kube:
        pods = await _pods(kube, "app.kubernetes.io/part-of=meshfleet-demo")
        caller_pods = await _pods(kube, "app=caller")
        gateways = (await kube.get(f"/api/v1/namespaces/{MESH_NS}/pods?labelSelector="
                                   "app.kubernetes.io/name%3Dgateway")).get("items", [])
    return {f"{m.cluster}/{p['metadata']['name']}": anchor_of_metrics(await _metrics(p["status"]["podIP"]))
            for p in [*pods, *caller_pods, *gateways] if p.get("status", {}).get("podIP")}


def test_the_anchor_rotates_across_both_clusters_without_failing_a_cross_cluster_request(
    linked: Linked, caller: Caller
) -> None:
    traffic = Traffic()
    lines: list[str] = []

    def answered_by_b(status: int, body: Any) -> bool:
        return status == 200 and body["downstream"][0]["host"] in caller.b_backends

    async def run() -> str:
        stop = asyncio.Event()
        load = asyncio.create_task(keep_calling(f"http://{caller.ip}:8080/", answered_by_b, stop, traffic))
        try:
            opts = RotateOptions(linked.repo, Keystore(linked.keystore), linked.kubeconfig, wait=180, interval=1)
            return await rotate(opts, lambda line: lines.append(f"{time.monotonic():.1f} {line}"))
        finally:
            stop.set()
            await load

    new = linked.a.run(run())
    print(f"{traffic.statuses['ok']} cross-cluster requests during the rotation | " + " | ".join(lines))
    assert traffic.statuses["ok"] > 100, (traffic.statuses, lines)
    assert traffic.failures == [], (traffic.failures[:10], lines)
    anchors = {**linked.a.run(_anchors(linked.a)), **linked.b.run(_anchors(linked.b))}
    assert any(name.startswith(f"{linked.b.cluster}/gateway") for name in anchors), anchors
    assert set(anchors.values()) == {new}, anchors
