"""The service mirror between two real clusters: alpha links to beta and mirrors beta's exported Services.

Only API servers are needed (no podlet): the gateway's endpoints in beta are
a hand-made EndpointSlice. Every object lives in namespaces named with a
fresh suffix, and the Link targets a cluster name carrying the same suffix,
so nothing here meets another test's objects. A few seconds after the local
fleet is up.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from mesh.control.destination.errors import ApiError
from mesh.control.identity import load_kubeconfig
from mesh.control.injector import KubeClient
from mesh.control.mirror import EXPORT_LABEL, run_mirror
from mesh.manifests import MeshParams, crds

pytestmark = pytest.mark.cluster

Obj = dict[str, Any]
CRD_PATH = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
LINK_CRD = "links.multicluster.meshfleet.io"
GATEWAY_PORT = 4143
IDENTITY = "gateway.meshfleet.serviceaccount.identity.meshfleet.cluster.local"


async def wait_for(what: str, probe: Callable[[], Awaitable[Any]], limit: float = 10.0) -> Any:
    deadline = time.monotonic() + limit
    last: Exception | None = None
    while True:
        try:
            value = await probe()
        except ApiError as e:
            value, last = None, e
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {limit:.0f}s waiting for {what} (last error: {last})")
        await asyncio.sleep(0.2)


async def get_or_none(kube: KubeClient, path: str) -> Obj | None:
    try:
        return await kube.get(path)
    except ApiError as e:
        if e.status == 404:
            return None
        raise


def svc_path(ns: str, name: str = "") -> str:
    return f"/api/v1/namespaces/{ns}/services" + (f"/{name}" if name else "")


def slice_path(ns: str, name: str = "") -> str:
    return f"/apis/discovery.k8s.io/v1/namespaces/{ns}/endpointslices" + (f"/{name}" if name else "")


def service(name: str, ports: list[Obj], labels: Obj | None = None, selector: Obj | None = None) -> Obj:
    spec: Obj = {"ports": ports}
    if selector:
        spec["selector"] = selector
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "labels": labels or {}}, "spec": spec}


def gateway_slice(ip: str) -> Obj:
    return {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
            "metadata": {"name": "gateway-by-hand", "labels": {"kubernetes.io/service-name": "gateway"}},
            "addressType": "IPv4",
            "endpoints": [{"addresses": [ip], "conditions": {"ready": True}}],
            "ports": [{"name": "mesh", "port": GATEWAY_PORT, "protocol": "TCP"}]}


@dataclass
class Setup:
    alpha: KubeClient
    beta: KubeClient
    mesh_ns: str
    shop: str  # exists only in beta until mirrored
    other: str  # exists in both; alpha's holds a Service called like a mirror, not ours
    target: str  # the Link's targetClusterName

    def mirror(self, name: str) -> str:
        return f"{name}-{self.target}"


async def edit(kube: KubeClient, path: str, change: Callable[[Obj], None]) -> None:
    for _ in range(5):
        obj = await kube.get(path)
        change(obj)
        try:
            await kube.replace(path, obj)
            return
        except ApiError as e:
            if e.status != 409:
                raise
    raise AssertionError(f"{path} kept changing under the test")


async def install_link_crd(alpha: KubeClient) -> bool:
    """Create the Link CRD from the mesh's own manifests; True if this test created it."""
    (crd,) = [c for c in crds(MeshParams("alpha", "0.1.0", b"pem")) if c["metadata"]["name"] == LINK_CRD]
    created = True
    try:
        await alpha.create(CRD_PATH, crd)
    except ApiError as e:
        if e.status != 409:
            raise
        created = False

    async def established() -> bool:
        got = await alpha.get(f"{CRD_PATH}/{LINK_CRD}")
        return any(c.get("type") == "Established" and c.get("status") == "True"
                   for c in (got.get("status") or {}).get("conditions") or [])

    await wait_for("the Link CRD established", established, 30)
    return created


@pytest.fixture
async def setup(local_fleet: Any) -> AsyncIterator[Setup]:
    suffix = uuid.uuid4().hex[:8]
    alpha = KubeClient(load_kubeconfig(Path(local_fleet.clusters["alpha"].kubeconfig)))
    beta = KubeClient(load_kubeconfig(Path(local_fleet.clusters["beta"].kubeconfig)))
    s = Setup(alpha, beta, f"mf-mirror-{suffix}", f"shop-{suffix}", f"other-{suffix}", f"beta-{suffix}")
    made: list[tuple[KubeClient, str]] = []

    async def namespace(kube: KubeClient, name: str) -> None:
        await kube.create("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
        made.append((kube, f"/api/v1/namespaces/{name}"))

    crd_created = False
    try:
        crd_created = await install_link_crd(alpha)
        for ns in (s.mesh_ns, s.other):
            await namespace(alpha, ns)
        for ns in (s.mesh_ns, s.shop, s.other):
            await namespace(beta, ns)
        made.append((alpha, f"/api/v1/namespaces/{s.shop}"))  # the mirror creates it; the test removes it
        yield s
    finally:
        for kube, path in made:
            with contextlib.suppress(ApiError):
                await kube.delete(path)
        if crd_created:
            with contextlib.suppress(ApiError):
                await alpha.delete(f"{CRD_PATH}/{LINK_CRD}")
        await alpha.close()
        await beta.close()


def link(s: Setup) -> Obj:
    return {"apiVersion": "multicluster.meshfleet.io/v1alpha1", "kind": "Link",
            "metadata": {"name": s.target, "namespace": s.mesh_ns},
            "spec": {"targetClusterName": s.target, "targetClusterDomain": "cluster.local",
                     "gatewayPort": GATEWAY_PORT, "gatewayIdentity": IDENTITY,
                     "selector": {"matchLabels": {EXPORT_LABEL: "true"}}}}


async def test_alpha_mirrors_betas_exported_services_behind_its_gateway(local_fleet: Any, setup: Setup) -> None:
    s = setup
    alpha, beta = s.alpha, s.beta
    exported = {EXPORT_LABEL: "true"}
    http = {"name": "http", "port": 8080, "protocol": "TCP", "targetPort": 8080}

    # Beta: the gateway (hand-made endpoints), two exported Services, one private, one exported into `other`.
    await beta.create(svc_path(s.mesh_ns), service("gateway", [{"name": "mesh", "port": GATEWAY_PORT}]))
    await beta.create(slice_path(s.mesh_ns), gateway_slice("10.101.0.7"))
    await beta.create(svc_path(s.shop), service("web", [http], exported, {"app": "web"}))
    await beta.create(svc_path(s.shop), service("api", [{"name": "grpc", "port": 9090}], exported, {"app": "api"}))
    await beta.create(svc_path(s.shop), service("private", [http], {}, {"app": "private"}))
    await beta.create(svc_path(s.other), service("decoy", [http], exported, {"app": "decoy"}))
    # Alpha: a user's own Service that happens to carry the decoy's mirror name.
    theirs = await alpha.create(svc_path(s.other), service(s.mirror("decoy"), [http], {"team": "x"}, {"app": "x"}))
    # Deleted as part of the test, not by the fixture: with the namespace.
    await wait_for("the Link accepted", lambda: alpha.create(
        f"/apis/multicluster.meshfleet.io/v1alpha1/namespaces/{s.mesh_ns}/links", link(s)))

    stop = asyncio.Event()
    local_kc = Path(local_fleet.clusters["alpha"].kubeconfig)
    remote_kc = Path(local_fleet.clusters["beta"].kubeconfig)
    task = asyncio.create_task(run_mirror(local_kc, remote_kc, s.target, s.mesh_ns, stop))
    try:
        web = await wait_for("the web mirror", lambda: get_or_none(alpha, svc_path(s.shop, s.mirror("web"))))
        assert web["spec"]["type"] == "ClusterIP"
        assert "selector" not in web["spec"]
        assert [(p.get("name"), p["port"], p["protocol"]) for p in web["spec"]["ports"]] == [("http", 8080, "TCP")]
        assert web["metadata"]["labels"] == {
            "multicluster.meshfleet.io/mirrored-service": "true",
            "multicluster.meshfleet.io/cluster-name": s.target,
            "app.kubernetes.io/managed-by": "meshfleet-mirror"}
        assert web["metadata"]["annotations"] == {
            "multicluster.meshfleet.io/remote-svc-fq-name": f"web.{s.shop}.svc.cluster.local",
            "multicluster.meshfleet.io/remote-gateway-identity": IDENTITY}
        web_slice = await wait_for("the web mirror's slice",
                                   lambda: get_or_none(alpha, slice_path(s.shop, s.mirror("web"))))
        assert web_slice["metadata"]["labels"] == {
            "kubernetes.io/service-name": s.mirror("web"),
            "endpointslice.kubernetes.io/managed-by": "mirror.multicluster.meshfleet.io",
            "multicluster.meshfleet.io/cluster-name": s.target}
        assert web_slice["addressType"] == "IPv4"
        assert [(e["addresses"], e["conditions"]["ready"]) for e in web_slice["endpoints"]] == [(["10.101.0.7"], True)]
        assert web_slice["ports"] == [{"name": "http", "port": GATEWAY_PORT, "protocol": "TCP"}]
        assert await get_or_none(alpha, svc_path(s.shop, s.mirror("api"))) is not None
        shop_ns = await alpha.get(f"/api/v1/namespaces/{s.shop}")
        assert shop_ns["metadata"]["labels"]["multicluster.meshfleet.io/created-by-mirror"] == "true"
        assert await get_or_none(alpha, svc_path(s.shop, s.mirror("private"))) is None

        # The user's Service named like a mirror is left exactly as it was, and gets no slice.
        still = await alpha.get(svc_path(s.other, s.mirror("decoy")))
        assert still["metadata"]["resourceVersion"] == theirs["metadata"]["resourceVersion"]
        assert still["spec"]["selector"] == {"app": "x"}
        assert await get_or_none(alpha, slice_path(s.other, s.mirror("decoy"))) is None

        # A new port on the source shows up on the mirror and its slice.
        def add_port(obj: Obj) -> None:
            obj["spec"]["ports"].append({"name": "admin", "port": 9990, "protocol": "TCP", "targetPort": 9990})

        await edit(beta, svc_path(s.shop, "web"), add_port)

        async def two_ports() -> bool:
            svc = await alpha.get(svc_path(s.shop, s.mirror("web")))
            sl = await alpha.get(slice_path(s.shop, s.mirror("web")))
            return ([p.get("name") for p in svc["spec"]["ports"]] == ["http", "admin"]
                    and [p["name"] for p in sl["ports"]] == ["http", "admin"]
                    and {p["port"] for p in sl["ports"]} == {GATEWAY_PORT})

        await wait_for("the new port mirrored", two_ports)

        # The gateway moves: every slice follows.
        def move(obj: Obj) -> None:
            obj["endpoints"] = [{"addresses": ["10.101.0.8"], "conditions": {"ready": True}}]

        await edit(beta, slice_path(s.mesh_ns, "gateway-by-hand"), move)

        async def moved() -> bool:
            for name in ("web", "api"):
                sl = await alpha.get(slice_path(s.shop, s.mirror(name)))
                if [e["addresses"] for e in sl["endpoints"]] != [["10.101.0.8"]]:
                    return False
            return True

        await wait_for("the slices pointing at the new gateway IP", moved)

        # No longer exported: its mirror goes, the other stays.
        def unexport(obj: Obj) -> None:
            del obj["metadata"]["labels"][EXPORT_LABEL]

        await edit(beta, svc_path(s.shop, "web"), unexport)

        async def web_gone() -> bool:
            return (await get_or_none(alpha, svc_path(s.shop, s.mirror("web"))) is None
                    and await get_or_none(alpha, slice_path(s.shop, s.mirror("web"))) is None)

        await wait_for("the unexported mirror deleted", web_gone)
        assert await get_or_none(alpha, svc_path(s.shop, s.mirror("api"))) is not None

        # The Link is deleted: all its mirrors go; namespaces and the user's Service stay.
        await alpha.delete(f"/apis/multicluster.meshfleet.io/v1alpha1/namespaces/{s.mesh_ns}/links/{s.target}")

        async def api_gone() -> bool:
            return (await get_or_none(alpha, svc_path(s.shop, s.mirror("api"))) is None
                    and await get_or_none(alpha, slice_path(s.shop, s.mirror("api"))) is None)

        await wait_for("the Link's mirrors deleted", api_gone)
        assert await get_or_none(alpha, f"/api/v1/namespaces/{s.shop}") is not None
        still = await alpha.get(svc_path(s.other, s.mirror("decoy")))
        assert still["metadata"]["resourceVersion"] == theirs["metadata"]["resourceVersion"]
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)
