"""The destination service and its client over real mTLS on 127.0.0.1, the cluster cache fed by hand."""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from mesh.control.destination import DestinationService, MeshSettings, ServiceConfig
from mesh.destination_client import Backoff, ClientConfig, DestinationClient
from mesh.policy import InboundPolicy
from mesh.proxy.identity import IdentityMaterial, TlsContexts
from mesh.proxy.services import Resolution

from .objects import SUFFIX, MeshPKI, endpoint_slice, identity_of, pod, service

DEST_NAME = identity_of("destination", "meshfleet")
FAST = Backoff(initial=0.05, maximum=0.2)


def client_tls(pki: MeshPKI, sa: str, ns: str) -> ssl.SSLContext:
    d = pki.leaf(sa, ns)
    material = IdentityMaterial(
        identity_of(sa, ns), (d / "cert.pem").read_bytes(), d / "key.pem", pki.bundle.read_bytes()
    )
    return TlsContexts(material).client


class Cluster:
    def __init__(self, service: DestinationService) -> None:
        self.service = service

    def put(self, collection: str, *objs: dict[str, Any]) -> None:
        for o in objs:
            self.service.store.apply(collection, "ADDED", o)
        self.service.hub.changed()

    def delete(self, collection: str, obj: dict[str, Any]) -> None:
        self.service.store.apply(collection, "DELETED", obj)
        self.service.hub.changed()


def make_service(pki: MeshPKI, port: int = 0) -> DestinationService:
    config = ServiceConfig(
        settings=MeshSettings(identity_suffix=SUFFIX),
        identity_dir=pki.leaf("destination", "meshfleet"),
        trust_bundle=pki.bundle,
        listen=("127.0.0.1", port),
        heartbeat=0.5,
        watches={},
    )
    return DestinationService(config, None, registry=CollectorRegistry())


@pytest.fixture
def pki(tmp_path: Path) -> MeshPKI:
    return MeshPKI(tmp_path)


@pytest.fixture
async def running(pki: MeshPKI) -> AsyncIterator[tuple[DestinationService, Cluster]]:
    svc = make_service(pki)
    await svc.start()
    cluster = Cluster(svc)
    for c in ("services", "endpointslices", "pods"):
        svc.store.reset(c, [])
    cluster.put("services", service("api"))
    cluster.put("pods", pod("api-0", "10.42.0.5"), pod("api-1", "10.42.0.6"), pod("web-0", "10.42.9.1", sa="web"))
    cluster.put("endpointslices", endpoint_slice("api", [("10.42.0.5", "api-0", True), ("10.42.0.6", "api-1", True)]))
    try:
        yield svc, cluster
    finally:
        await svc.stop()


async def until(predicate: Any, within: float = 2.0) -> float:
    started = time.monotonic()
    while not predicate():
        if time.monotonic() - started > within:
            raise AssertionError(f"not true within {within}s")
        await asyncio.sleep(0.01)
    return time.monotonic() - started


def addresses(r: Resolution | None) -> list[str]:
    return [e.address for e in r.endpoints] if r else []


async def test_subscribe_then_incremental_updates(pki: MeshPKI, running: tuple[DestinationService, Cluster]) -> None:
    svc, cluster = running
    client = DestinationClient(
        ClientConfig(("127.0.0.1", svc.port), DEST_NAME, backoff=FAST), lambda: client_tls(pki, "web", "shop")
    )
    task = asyncio.create_task(client.run())
    seen: list[Resolution | None] = []
    sub = client.resolve("api.shop.svc.cluster.local:8080", seen.append)
    try:
        await until(lambda: seen)
        assert addresses(seen[-1]) == ["10.42.0.5:8080", "10.42.0.6:8080"]
        assert seen[-1] is not None
        assert {e.identity for e in seen[-1].endpoints} == {identity_of("api")}
        assert seen[-1].service.service == "api"
        cluster.put("pods", pod("api-2", "10.42.0.7"))
        cluster.put(
            "endpointslices",
            endpoint_slice(
                "api", [("10.42.0.5", "api-0", True), ("10.42.0.6", "api-1", False), ("10.42.0.7", "api-2", True)]
            ),
        )
        took = await until(lambda: addresses(seen[-1]) == ["10.42.0.5:8080", "10.42.0.7:8080"], within=1.0)
        assert took < 1.0
        cluster.delete("services", service("api"))
        await until(lambda: seen[-1] is None)
    finally:
        sub.cancel()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_restart_keeps_last_endpoints_then_resubscribes(
    pki: MeshPKI, running: tuple[DestinationService, Cluster]
) -> None:
    svc, cluster = running
    port = svc.port
    client = DestinationClient(
        ClientConfig(("127.0.0.1", port), DEST_NAME, backoff=FAST, silence_timeout=2.0),
        lambda: client_tls(pki, "web", "shop"),
    )
    task = asyncio.create_task(client.run())
    seen: list[Resolution | None] = []
    client.resolve("10.96.0.10:8080", seen.append)
    try:
        await until(lambda: seen)
        await svc.stop()
        await asyncio.sleep(0.5)
        # Destination is gone: the proxy keeps using what it was told last.
        assert addresses(seen[-1]) == ["10.42.0.5:8080", "10.42.0.6:8080"]
        fresh = make_service(pki, port)
        await fresh.start()
        try:
            for c in ("services", "endpointslices", "pods"):
                fresh.store.reset(c, [])
            again = Cluster(fresh)
            again.put("services", service("api"))
            again.put("pods", pod("api-9", "10.42.0.9"))
            again.put("endpointslices", endpoint_slice("api", [("10.42.0.9", "api-9", True)]))
            await until(lambda: addresses(seen[-1]) == ["10.42.0.9:8080"], within=5.0)
            assert client.connects == 2
        finally:
            await fresh.stop()
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_inbound_policy_only_for_the_pods_own_proxy(
    pki: MeshPKI, running: tuple[DestinationService, Cluster]
) -> None:
    svc, cluster = running
    policies: list[InboundPolicy] = []
    own = DestinationClient(
        ClientConfig(("127.0.0.1", svc.port), DEST_NAME, pod=("shop", "web-0"), backoff=FAST),
        lambda: client_tls(pki, "web", "shop"),
    )
    stranger_policies: list[InboundPolicy] = []
    stranger = DestinationClient(
        ClientConfig(("127.0.0.1", svc.port), DEST_NAME, pod=("shop", "web-0"), backoff=FAST),
        lambda: client_tls(pki, "api", "shop"),
    )
    tasks = [asyncio.create_task(own.run()), asyncio.create_task(stranger.run())]
    own.inbound_policy(policies.append)
    stranger.inbound_policy(stranger_policies.append)
    try:
        await until(lambda: policies)
        await until(lambda: svc.metrics.refused.labels(code="forbidden")._value.get() >= 1)
        assert stranger_policies == []
        cluster.put(
            "servers",
            {
                "kind": "Server",
                "metadata": {"name": "web-http", "namespace": "shop"},
                "spec": {"podSelector": {}, "port": 8080},
            },
        )
        await until(lambda: len(policies) == 2)
        assert [p.server for p in policies[-1].ports] == ["shop/web-http"]
    finally:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def test_a_client_without_a_mesh_certificate_is_refused(
    pki: MeshPKI, running: tuple[DestinationService, Cluster], tmp_path: Path
) -> None:
    svc, _ = running
    other = MeshPKI(tmp_path / "other")
    client = DestinationClient(
        ClientConfig(("127.0.0.1", svc.port), DEST_NAME, backoff=FAST), lambda: client_tls(other, "web", "shop")
    )
    task = asyncio.create_task(client.run())
    seen: list[Resolution | None] = []
    client.resolve("api.shop:8080", seen.append)
    try:
        await until(lambda: client.last_error is not None)
        assert client.connects == 0
        assert seen == []
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
