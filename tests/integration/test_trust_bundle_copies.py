"""Meshing a namespace of one's own just works: the injector copies the trust bundle into it and keeps it current.

One local cluster with a podlet and the mesh reconciled from a fleet
repository (without the demo namespace, whose bundle the fleet renders
itself). A new namespace annotated for injection, holding no
``trust-anchors`` ConfigMap, gets a meshed demo-app pod: it must become
Ready with its proxy holding a leaf under the fleet's anchor, the copy must
be there, and a second anchor added to the mesh namespace's bundle must
reach the copy within seconds (what a trust rotation waits for).

About 60 s after the local fleet is up. Set MESHFLEET_TEST_CLUSTERS=alpha
to start only the cluster this module uses.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pygit2
import pytest
import yaml

from fleet.local.podlet.api import Kube
from fleet.trust.rotation_observe import anchor_of_metrics
from mesh.control.injector import COPY_LABEL
from mesh.pki import certificates_to_pem, fingerprint, generate_private_key, issue_trust_anchor, parse_bundle
from tests.integration.test_mesh_e2e import Mesh, _metrics, _ready, reconciled_mesh, wait_for

pytestmark = [pytest.mark.cluster, pytest.mark.root, pytest.mark.netns, pytest.mark.slow]

MESH_NS = "meshfleet"
NS = "bundle-copies"
BUNDLE = "trust-anchors"
KEY = "ca-bundle.crt"
IMAGE = "ghcr.io/meshfleet/meshfleet:0.1.0"


def _without_demo(repo: Path) -> None:
    """The demo namespace carries a bundle the fleet renders; this test is about namespaces it does not."""
    fleet = yaml.safe_load((repo / "fleet.yaml").read_text())
    fleet["spec"]["defaults"]["demo"] = False
    (repo / "fleet.yaml").write_text(yaml.safe_dump(fleet))
    r = pygit2.Repository(str(repo))
    r.index.add("fleet.yaml")
    r.index.write()
    sig = pygit2.Signature("Platform Team", "platform@example.com")
    r.create_commit("refs/heads/main", sig, sig, "no demo", r.index.write_tree(), [r.head.target])


@pytest.fixture(scope="module")
def mesh(local_fleet: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mesh]:
    with reconciled_mesh(local_fleet, tmp_path_factory.mktemp("bundle-copies"), _without_demo) as m:
        yield m


async def _bundle(kube: Kube, namespace: str) -> dict[str, Any] | None:
    got = await kube.get(f"/api/v1/namespaces/{namespace}/configmaps?fieldSelector=metadata.name%3D{BUNDLE}")
    items = got.get("items") or []
    return items[0] if items else None


def _anchors(cm: dict[str, Any] | None) -> set[str]:
    return {fingerprint(c) for c in parse_bundle(((cm or {}).get("data") or {}).get(KEY, "").encode())}


def _app_pod() -> dict[str, Any]:
    return {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "app", "namespace": NS, "labels": {"app": "app"}},
        "spec": {"serviceAccountName": "app", "terminationGracePeriodSeconds": 1, "containers": [{
            "name": "app", "image": IMAGE, "imagePullPolicy": "IfNotPresent",
            "args": ["demo-app", "--name=app", "--port=8080"],
            "ports": [{"name": "http", "containerPort": 8080, "protocol": "TCP"}],
            "startupProbe": {"httpGet": {"path": "/healthz", "port": 8080}, "periodSeconds": 1,
                             "failureThreshold": 60},
        }]},
    }


def test_a_namespace_annotated_for_injection_runs_meshed_pods_and_its_bundle_copy_follows_the_mesh(
    mesh: Mesh,
) -> None:
    timings: dict[str, float] = {}

    async def check() -> None:
        async with mesh.kube() as kube:
            async def webhook() -> bool:
                got = await kube.get("/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations")
                return bool(got.get("items"))

            await wait_for("the injector webhook registered", webhook, 60)
            source = await _bundle(kube, MESH_NS)
            mesh_anchors = _anchors(source)
            assert len(mesh_anchors) == 1, source
            t0 = time.monotonic()
            await kube.create("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {
                "name": NS, "annotations": {"meshfleet.io/inject": "enabled"}}})
            try:
                await kube.create(f"/api/v1/namespaces/{NS}/serviceaccounts",
                                  {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "app"}})
                # Nothing in Git puts a bundle here: only the injector can.
                await kube.create(f"/api/v1/namespaces/{NS}/pods", _app_pod())
                copy = await wait_for("the bundle copy", lambda: _bundle(kube, NS), 10)
                timings["copy"] = time.monotonic() - t0
                assert copy["metadata"]["labels"][COPY_LABEL] == "true"
                assert copy["metadata"]["labels"].get("app.kubernetes.io/managed-by") != "meshfleet"
                assert _anchors(copy) == mesh_anchors

                async def ready_pod() -> dict[str, Any] | None:
                    pod = await kube.get(f"/api/v1/namespaces/{NS}/pods/app")
                    return pod if _ready(pod) else None

                pod = await wait_for("the meshed pod Ready", ready_pod, 60)
                timings["ready"] = time.monotonic() - t0
                inits = [c["name"] for c in pod["spec"].get("initContainers", [])]
                assert inits == ["meshfleet-init", "meshfleet-proxy"]
                held = anchor_of_metrics(await _metrics(pod["status"]["podIP"]))
                assert held in mesh_anchors, "the proxy holds no leaf under the fleet's anchor"

                # A second anchor in the mesh's bundle, as the first phase of a rotation puts it.
                extra = issue_trust_anchor(generate_private_key(), common_name="next root", now=datetime.now(UTC))
                pem = source["data"][KEY] + certificates_to_pem([extra]).decode("ascii")
                t1 = time.monotonic()
                await kube.merge_patch(f"/api/v1/namespaces/{MESH_NS}/configmaps/{BUNDLE}", {"data": {KEY: pem}})
                try:
                    want = mesh_anchors | {fingerprint(extra)}

                    async def followed() -> bool:
                        return _anchors(await _bundle(kube, NS)) == want

                    await wait_for("the copy holding both anchors", followed, 10)
                    timings["follow"] = time.monotonic() - t1
                finally:
                    await kube.merge_patch(f"/api/v1/namespaces/{MESH_NS}/configmaps/{BUNDLE}",
                                           {"data": {KEY: source["data"][KEY]}})
                await wait_for("the copy back to one anchor", lambda: _anchor_set_is(kube, mesh_anchors), 10)
            finally:
                await kube.delete(f"/api/v1/namespaces/{NS}")
                await wait_for(f"namespace {NS} gone", lambda: _gone(kube, NS), 30)

    mesh.run(check())
    print(f"copy after {timings['copy']:.1f}s, pod Ready after {timings['ready']:.1f}s, "
          f"copy followed the mesh bundle in {timings['follow']:.2f}s")
    assert timings["follow"] < 5


async def _anchor_set_is(kube: Kube, want: set[str]) -> bool:
    return _anchors(await _bundle(kube, NS)) == want


async def _gone(kube: Kube, name: str) -> bool:
    got = await kube.get("/api/v1/namespaces")
    return all(ns["metadata"]["name"] != name for ns in got.get("items", []))
