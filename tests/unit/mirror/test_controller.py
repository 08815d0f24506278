"""The mirror controller against fake API servers: watches in, writes out."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Callable, Sequence
from typing import Any, cast

import pytest

from mesh.control.destination import KubeReader
from mesh.control.destination.errors import ApiError as KubeApiError
from mesh.control.injector import KubeClient
from mesh.control.mirror import EXPORT_LABEL, MirrorController, main

Obj = dict[str, Any]
LINKS = "/apis/multicluster.meshfleet.io/v1alpha1/namespaces/meshfleet/links"
SERVICES = "/api/v1/services"
SLICES = "/apis/discovery.k8s.io/v1/endpointslices"
NAMESPACES = "/api/v1/namespaces"
GATEWAY = "/apis/discovery.k8s.io/v1/namespaces/meshfleet/endpointslices"


class FakeApi:
    """Lists and events per collection (path without query); records writes; a list can be made to never answer."""

    def __init__(self, lists: dict[str, list[Obj]], *, unreachable: bool = False) -> None:
        self.lists = lists
        self.unreachable = unreachable
        self.queues: dict[str, asyncio.Queue[tuple[str, Obj]]] = {}
        self.writes: list[tuple[str, str, Obj | None]] = []
        self.rv = 100

    async def list_watch(self, path: str, on_reset: Callable[[list[Obj]], None],
                         on_event: Callable[[str, Obj], None]) -> None:
        key = path.split("?")[0]
        queue = self.queues.setdefault(key, asyncio.Queue())
        if self.unreachable:
            await asyncio.Event().wait()
        on_reset(copy.deepcopy(self.lists.get(key, [])))
        while True:
            on_event(*await queue.get())

    def event(self, path: str, kind: str, obj: Obj) -> None:
        self.queues[path].put_nowait((kind, obj))

    def _answer(self, body: Obj) -> Obj:
        self.rv += 1
        out = copy.deepcopy(body)
        out.setdefault("metadata", {})["resourceVersion"] = str(self.rv)
        return out

    async def create(self, collection: str, body: Obj) -> Obj:
        self.writes.append(("create", collection, body))
        return self._answer(body)

    async def replace(self, path: str, body: Obj) -> Obj:
        self.writes.append(("replace", path, body))
        return self._answer(body)

    async def delete(self, path: str, resource_version: str = "") -> None:
        self.writes.append(("delete", path, None))


def link(**spec: Any) -> Obj:
    return {"apiVersion": "multicluster.meshfleet.io/v1alpha1", "kind": "Link",
            "metadata": {"name": "beta", "namespace": "meshfleet"},
            "spec": {"targetClusterName": "beta", "targetClusterDomain": "cluster.local", "gatewayPort": 4143,
                     "gatewayIdentity": "gw", **spec}}


def service(name: str, ns: str = "shop", exported: bool = True) -> Obj:
    return {"metadata": {"name": name, "namespace": ns, "labels": {EXPORT_LABEL: "true"} if exported else {}},
            "spec": {"ports": [{"name": "http", "port": 8080, "protocol": "TCP"}]}}


def gateway_slice(*ips: str) -> Obj:
    return {"metadata": {"name": "gateway-x", "namespace": "meshfleet"}, "addressType": "IPv4",
            "endpoints": [{"addresses": [ip], "conditions": {"ready": True}} for ip in ips]}


def ours(kind: str, name: str, cluster: str = "beta") -> Obj:
    label = ("app.kubernetes.io/managed-by", "meshfleet-mirror") if kind == "Service" else (
        "endpointslice.kubernetes.io/managed-by", "mirror.multicluster.meshfleet.io")
    return {"metadata": {"name": name, "namespace": "shop", "resourceVersion": "7",
                         "labels": {label[0]: label[1], "multicluster.meshfleet.io/cluster-name": cluster}}}


def controller(local: FakeApi, remote: FakeApi, *, resolve: Callable[[str], Any] | None = None) -> MirrorController:
    extra: dict[str, Any] = {"resolve": resolve} if resolve else {}
    return MirrorController(cast(KubeClient, local), cast(KubeReader, remote), "beta", "meshfleet",
                            resync=0.2, **extra)


async def until(check: Callable[[], bool], limit: float = 2.0) -> None:
    deadline = asyncio.get_running_loop().time() + limit
    while not check():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.01)


def local_api(links: Sequence[Obj] = (), services: Sequence[Obj] = (), slices: Sequence[Obj] = ()) -> FakeApi:
    return FakeApi({LINKS: list(links), SERVICES: list(services), SLICES: list(slices),
                    NAMESPACES: [{"metadata": {"name": "shop"}}]})


async def test_watches_in_mirror_writes_out_and_a_source_change_follows() -> None:
    local = local_api([link()])
    remote = FakeApi({SERVICES: [service("web"), service("private", exported=False)],
                      GATEWAY: [gateway_slice("10.101.0.7")]})
    c = controller(local, remote)
    c.start()
    try:
        await until(lambda: len(local.writes) == 2)
        assert [(w[0], w[1]) for w in local.writes] == [
            ("create", "/api/v1/namespaces/shop/services"),
            ("create", "/apis/discovery.k8s.io/v1/namespaces/shop/endpointslices")]
        created_slice = local.writes[1][2]
        assert created_slice is not None
        assert created_slice["endpoints"] == [{"addresses": ["10.101.0.7"], "conditions": {"ready": True}}]
        await asyncio.sleep(0.5)  # resyncs on what the writes answered: nothing more to do
        assert len(local.writes) == 2
        remote.event(GATEWAY, "MODIFIED", gateway_slice("10.101.0.8"))
        await until(lambda: len(local.writes) == 3)
        kind, path, body = local.writes[2]
        assert (kind, path) == ("replace", "/apis/discovery.k8s.io/v1/namespaces/shop/endpointslices/web-beta")
        assert body is not None
        assert body["endpoints"][0]["addresses"] == ["10.101.0.8"]
        remote.event(SERVICES, "DELETED", service("web"))
        await until(lambda: len(local.writes) == 5)
        assert [(w[0], w[1].rsplit("/", 2)[-2:]) for w in local.writes[3:]] == [
            ("delete", ["endpointslices", "web-beta"]), ("delete", ["services", "web-beta"])]
    finally:
        await c.stop()


async def test_an_unreachable_target_cluster_leaves_the_mirrors_but_a_removed_link_takes_them() -> None:
    local = local_api([link()], [ours("Service", "web-beta")], [ours("EndpointSlice", "web-beta")])
    c = controller(local, FakeApi({}, unreachable=True))
    c.start()
    try:
        await asyncio.sleep(0.5)
        assert local.writes == []
        local.event(LINKS, "DELETED", link())
        await until(lambda: len(local.writes) == 2)
        assert [w[0] for w in local.writes] == ["delete", "delete"]
    finally:
        await c.stop()


async def test_a_link_gone_before_start_removes_the_mirrors_of_the_cluster_it_was_named_after() -> None:
    local = local_api([], [ours("Service", "web-beta"), ours("Service", "web-gamma", "gamma")])
    c = controller(local, FakeApi({}, unreachable=True))
    c.start()
    try:
        await until(lambda: len(local.writes) == 1)
        await asyncio.sleep(0.3)
        assert [(w[0], w[1]) for w in local.writes] == [("delete", "/api/v1/namespaces/shop/services/web-beta")]
    finally:
        await c.stop()


async def test_a_bad_link_is_logged_once_and_its_mirrors_are_left_alone(caplog: pytest.LogCaptureFixture) -> None:
    local = local_api([link(gatewayPort=0)], [ours("Service", "web-beta")])
    c = controller(local, FakeApi({SERVICES: [], GATEWAY: []}))
    c.start()
    try:
        await asyncio.sleep(0.6)  # several resyncs
    finally:
        await c.stop()
    assert local.writes == []
    errors = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert errors == ["Link meshfleet/beta: spec.gatewayPort: must be an integer from 1 to 65535, not 0; "
                      "its mirrors are left as they are"]


async def test_a_dns_gateway_address_is_resolved_and_a_failed_lookup_keeps_the_last_answer() -> None:
    answers: list[list[str] | OSError] = [["192.0.2.5"], OSError("no resolver")]
    asked: list[str] = []

    async def resolve(host: str) -> list[str]:
        asked.append(host)
        answer = answers[min(len(asked), len(answers)) - 1]
        if isinstance(answer, OSError):
            raise answer
        return answer

    local = local_api([link(gatewayAddress="gw.beta.example.com")])
    c = controller(local, FakeApi({SERVICES: [service("web")], GATEWAY: [gateway_slice("10.101.0.7")]}),
                   resolve=resolve)
    c.start()
    try:
        await until(lambda: len(local.writes) == 2)
        body = local.writes[1][2]
        assert body is not None
        assert body["endpoints"][0]["addresses"] == ["192.0.2.5"]
        await until(lambda: len(asked) >= 2)  # looked up again after a resync period
        await asyncio.sleep(0.1)
        assert len(local.writes) == 2  # the failed lookup did not empty the slice
        assert asked[0] == "gw.beta.example.com"
    finally:
        await c.stop()


async def test_a_failed_write_is_retried() -> None:
    local = local_api([link()])
    failures = [KubeApiError("POST: HTTP 500", 500)]
    create = local.create

    async def flaky(collection: str, body: Obj) -> Obj:
        if failures:
            raise failures.pop()
        return await create(collection, body)

    local.create = flaky  # type: ignore[method-assign]
    c = controller(local, FakeApi({SERVICES: [service("web")], GATEWAY: [gateway_slice("10.101.0.7")]}))
    c.start()
    try:
        await until(lambda: len(local.writes) >= 2)
        assert {w[1].rsplit("/", 1)[-1] for w in local.writes} == {"services", "endpointslices"}
    finally:
        await c.stop()


def test_an_unusable_kubeconfig_exits_2_naming_which_cluster(tmp_path: Any, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nope.yaml"
    code = main(["--kubeconfig", str(missing), "--remote-kubeconfig", str(missing), "--link", "beta"])
    assert code == 2
    assert "local cluster kubeconfig" in capsys.readouterr().err
