"""AdmissionReview handling: every answer allows the pod; malformed reviews get a warning, never a 500."""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from mesh.control.injector import InjectorConfig, InjectorMetrics, build_app, parse_review
from mesh.control.injector.errors import MalformedReview

CONFIG = InjectorConfig(image="ghcr.io/meshfleet/meshfleet:test")


def review(obj: Any = None, kind: dict[str, str] | None = None, uid: str = "u-1", ns: str = "shop") -> dict[str, Any]:
    return {
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "request": {
            "uid": uid,
            "kind": kind or {"group": "", "version": "v1", "kind": "Pod"},
            "namespace": ns,
            "operation": "CREATE",
            "object": obj
            if obj is not None
            else {"metadata": {"name": "p"}, "spec": {"containers": [{"name": "app", "image": "x"}]}},
        },
    }


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"{not json", "not JSON"),
        (b"[]", "not an AdmissionReview"),
        (json.dumps({"kind": "AdmissionReview"}).encode(), "has no request"),
        (json.dumps({"kind": "AdmissionReview", "request": {"kind": {"kind": "Pod"}}}).encode(), "no uid"),
        (json.dumps(review(kind={"group": "apps", "kind": "Deployment"})).encode(), "apps/Deployment, not a Pod"),
    ],
)
def test_malformed_reviews_are_named(body: bytes, reason: str) -> None:
    with pytest.raises(MalformedReview, match=reason):
        parse_review(body)


async def _client(namespaces: Mapping[str, Mapping[str, Any]]) -> TestClient[Any, Any]:
    async def lookup(name: str) -> Mapping[str, Any] | None:
        if name == "broken":
            raise OSError("API down")
        return namespaces.get(name)

    client: TestClient[Any, Any] = TestClient(TestServer(build_app(CONFIG, lookup, InjectorMetrics())))
    await client.start_server()
    return client


async def test_webhook_injects_and_answers_allowed() -> None:
    client = await _client({"shop": {"metadata": {"name": "shop", "labels": {"meshfleet.io/inject": "enabled"}}}})
    try:
        resp = await client.post("/inject", json=review())
        assert resp.status == 200
        answer = (await resp.json())["response"]
        assert answer["uid"] == "u-1"
        assert answer["allowed"] is True
        patch = json.loads(base64.b64decode(answer["patch"]))
        assert patch[0]["path"] == "/spec/initContainers"
        metrics = await (await client.get("/metrics")).text()
        assert 'injector_reviews_total{outcome="injected"} 1.0' in metrics
    finally:
        await client.close()


@pytest.mark.parametrize(
    "body",
    [b"garbage", json.dumps(review(kind={"group": "apps", "kind": "Deployment"})).encode(), b""],
)
async def test_webhook_allows_malformed_reviews_unchanged_with_a_warning(body: bytes) -> None:
    client = await _client({})
    try:
        resp = await client.post("/inject", data=body, headers={"Content-Type": "application/json"})
        assert resp.status == 200
        answer = (await resp.json())["response"]
        assert answer["allowed"] is True
        assert "patch" not in answer
        assert answer["warnings"]
    finally:
        await client.close()


async def test_a_namespace_lookup_failure_still_allows_the_pod() -> None:
    client = await _client({})
    try:
        answer = (await (await client.post("/inject", json=review(ns="broken"))).json())["response"]
        assert answer["allowed"] is True
        assert "patch" not in answer
        assert any("unreadable" in w for w in answer["warnings"])
    finally:
        await client.close()
