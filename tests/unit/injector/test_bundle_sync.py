"""The trust bundle sync against a fake API server: watches in, writes out; and the admission path."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Awaitable, Callable
from typing import Any, cast

from aiohttp.test_utils import TestClient, TestServer

from mesh.control.destination.errors import ApiError
from mesh.control.injector import (
    COPY_LABEL,
    BundleScope,
    InjectorConfig,
    InjectorMetrics,
    KubeClient,
    TrustBundleSync,
    build_app,
)

Obj = dict[str, Any]
CONFIGMAPS = "/api/v1/configmaps"
SOURCE_PATH = "/api/v1/namespaces/meshfleet/configmaps/trust-anchors"
OLD, NEW = "-----OLD-----\n", "-----OLD-----\n-----NEW-----\n"


def bundle(namespace: str, pem: str, *, copy: bool = False, rv: str = "1") -> Obj:
    labels = {COPY_LABEL: "true"} if copy else {}
    return {"metadata": {"name": "trust-anchors", "namespace": namespace, "resourceVersion": rv, "labels": labels},
            "data": {"ca-bundle.crt": pem}}


def namespace(name: str, inject: str | None = None) -> Obj:
    return {"metadata": {"name": name, "annotations": {"meshfleet.io/inject": inject} if inject else {}},
            "status": {"phase": "Active"}}


class FakeApi:
    """Lists and events per collection; records every write; can be told how to answer a create."""

    def __init__(self, lists: dict[str, list[Obj]], *, unlisted: tuple[str, ...] = ()) -> None:
        self.lists = lists
        self.unlisted = unlisted  # collections whose list never answers
        self.queues: dict[str, asyncio.Queue[tuple[str, Obj]]] = {}
        self.writes: list[tuple[str, str, Obj | None]] = []
        self.create_answer: Callable[[], Awaitable[None]] | None = None

    async def list_watch(self, path: str, on_reset: Callable[[list[Obj]], None],
                         on_event: Callable[[str, Obj], None]) -> None:
        key = path.split("?")[0]
        queue = self.queues.setdefault(key, asyncio.Queue())
        if key in self.unlisted:
            await asyncio.Event().wait()
        on_reset(list(self.lists.get(key, [])))
        while True:
            on_event(*await queue.get())

    def event(self, key: str, kind: str, obj: Obj) -> None:
        self.queues.setdefault(key, asyncio.Queue()).put_nowait((kind, obj))

    async def get(self, path: str) -> Obj:
        for item in self.lists.get(CONFIGMAPS, []):
            meta = item["metadata"]
            if path == f"/api/v1/namespaces/{meta['namespace']}/configmaps/{meta['name']}":
                return item
        raise ApiError(f"GET {path}: HTTP 404", 404)

    async def create(self, collection: str, body: Obj) -> Obj:
        if self.create_answer is not None:
            await self.create_answer()
        self.writes.append(("create", collection, body))
        return body

    async def replace(self, path: str, body: Obj) -> Obj:
        self.writes.append(("replace", path, body))
        return body

    async def delete(self, path: str, resource_version: str = "") -> None:
        self.writes.append(("delete", path, None))


def sync_for(api: FakeApi, **kw: Any) -> TrustBundleSync:
    return TrustBundleSync(cast(KubeClient, api), BundleScope("meshfleet"), **kw)


async def until(what: str, check: Callable[[], bool]) -> None:
    for _ in range(200):
        if check():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"never happened: {what}")


async def test_a_copy_is_created_then_follows_the_mesh_bundle() -> None:
    api = FakeApi({
        "/api/v1/namespaces": [namespace("meshfleet"), namespace("shop", "enabled")],
        "/api/v1/pods": [],
        CONFIGMAPS: [bundle("meshfleet", OLD)],
    })
    sync = sync_for(api)
    sync.start()
    try:
        await until("a copy created in shop", lambda: len(api.writes) == 1)
        kind, where, body = api.writes[0]
        assert (kind, where) == ("create", "/api/v1/namespaces/shop/configmaps")
        assert body is not None
        assert body["data"] == {"ca-bundle.crt": OLD}
        api.event(CONFIGMAPS, "ADDED", bundle("shop", OLD, copy=True, rv="5"))
        api.event(CONFIGMAPS, "MODIFIED", bundle("meshfleet", NEW, rv="6"))
        await until("the copy replaced", lambda: len(api.writes) == 2)
        kind, where, body = api.writes[1]
        assert (kind, where) == ("replace", "/api/v1/namespaces/shop/configmaps/trust-anchors")
        assert body is not None
        assert body["data"] == {"ca-bundle.crt": NEW}
        assert body["metadata"]["resourceVersion"] == "5"
    finally:
        await sync.stop()


async def test_no_copy_is_deleted_before_every_pod_has_been_seen() -> None:
    api = FakeApi({
        "/api/v1/namespaces": [namespace("meshfleet"), namespace("shop")],
        CONFIGMAPS: [bundle("meshfleet", OLD), bundle("shop", OLD, copy=True)],
    }, unlisted=("/api/v1/pods",))
    sync = sync_for(api)
    sync.start()
    try:
        await asyncio.sleep(0.2)
        assert api.writes == []
        assert not sync.synced
    finally:
        await sync.stop()


async def test_admission_creates_the_missing_copy_once_for_a_burst_of_pods() -> None:
    api = FakeApi({CONFIGMAPS: [bundle("meshfleet", OLD)]})
    sync = sync_for(api)  # not started: the source is read from the API server directly
    answers = await asyncio.gather(*(sync.ensure("shop") for _ in range(5)))
    assert answers == [None] * 5
    assert [(k, w) for k, w, _ in api.writes] == [("create", "/api/v1/namespaces/shop/configmaps")]
    assert await sync.ensure("shop") is None
    assert len(api.writes) == 1
    assert await sync.ensure("meshfleet") is None  # the source itself is never copied over
    assert len(api.writes) == 1


async def test_admission_takes_an_existing_copy_as_done() -> None:
    api = FakeApi({CONFIGMAPS: [bundle("meshfleet", OLD)]})

    async def exists() -> None:
        raise ApiError("POST: HTTP 409", 409)

    api.create_answer = exists
    assert await sync_for(api).ensure("shop") is None


async def test_admission_reports_a_copy_it_could_not_make_and_does_not_wait_past_its_deadline() -> None:
    api = FakeApi({CONFIGMAPS: [bundle("meshfleet", OLD)]})

    async def refused() -> None:
        raise ApiError("POST /api/v1/namespaces/shop/configmaps: HTTP 403", 403)

    api.create_answer = refused
    warning = await sync_for(api).ensure("shop")
    assert warning is not None
    assert "shop" in warning
    assert "403" in warning

    async def slow() -> None:
        await asyncio.sleep(0.3)

    api.create_answer = slow
    sync = sync_for(api, admission_timeout=0.05)
    warning = await sync.ensure("slow")
    assert warning is not None
    assert "slow" in warning
    assert "0.05s" in warning
    await until("the create finishing after the review gave up", lambda: len(api.writes) == 1)
    await sync.stop()


async def test_admission_without_a_mesh_bundle_warns_that_the_proxy_cannot_start() -> None:
    warning = await sync_for(FakeApi({})).ensure("shop")
    assert warning is not None
    assert "meshfleet/trust-anchors" in warning


def _review(ns: str, *, inject: bool) -> Obj:
    annotations = {"meshfleet.io/inject": "enabled"} if inject else {}
    return {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {
        "uid": "u-1", "kind": {"group": "", "version": "v1", "kind": "Pod"}, "namespace": ns, "operation": "CREATE",
        "object": {"metadata": {"name": "p", "annotations": annotations},
                   "spec": {"containers": [{"name": "app", "image": "x"}]}}}}


async def test_the_webhook_asks_for_the_bundle_only_for_pods_it_meshes_and_admits_them_whatever_happens() -> None:
    asked: list[str] = []

    async def ensure(ns: str) -> str | None:
        asked.append(ns)
        if ns == "broken":
            raise OSError("API down")
        return None

    async def no_namespace(_: str) -> None:
        return None

    app = build_app(InjectorConfig(image="ghcr.io/meshfleet/meshfleet:test"), no_namespace, InjectorMetrics(), ensure)
    client: TestClient[Any, Any] = TestClient(TestServer(app))
    await client.start_server()
    try:
        plain = (await (await client.post("/inject", json=_review("shop", inject=False))).json())["response"]
        assert "patch" not in plain
        assert asked == []
        meshed = (await (await client.post("/inject", json=_review("shop", inject=True))).json())["response"]
        assert meshed["allowed"] is True
        assert json.loads(base64.b64decode(meshed["patch"]))
        assert asked == ["shop"]
        broken = (await (await client.post("/inject", json=_review("broken", inject=True))).json())["response"]
        assert broken["allowed"] is True
        assert "patch" in broken
        assert any("trust bundle" in w and "broken" in w for w in broken["warnings"])
    finally:
        await client.close()
