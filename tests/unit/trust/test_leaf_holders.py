"""Which pods a trust rotation asks for the anchor of their leaf certificate, and on which port."""

from __future__ import annotations

from typing import Any

import pytest

from fleet.trust.rotation_observe import IDENTITY_ANNOTATION, leaf_metrics_port
from mesh.manifests import ADMIN_PORTS, PROXY_ADMIN_PORT

MESH = "meshfleet"


def _pod(namespace: str, *, name: str = "", annotated: bool = False, phase: str = "Running",
         deleting: bool = False) -> dict[str, Any]:
    meta: dict[str, Any] = {"namespace": namespace, "name": f"{name or 'app'}-abc12",
                            "labels": {"app.kubernetes.io/name": name} if name else {}}
    if annotated:
        meta["annotations"] = {IDENTITY_ANNOTATION: "web.shop.serviceaccount.identity.meshfleet.cluster.local"}
    if deleting:
        meta["deletionTimestamp"] = "2026-11-28T00:00:00Z"
    return {"metadata": meta, "status": {"phase": phase}}


def test_a_meshed_pod_is_asked_on_its_proxy_admin_port() -> None:
    assert leaf_metrics_port(_pod("shop", annotated=True), MESH) == PROXY_ADMIN_PORT


def test_the_destination_service_and_gateways_hold_leaves_of_their_own() -> None:
    assert leaf_metrics_port(_pod(MESH, name="destination"), MESH) == ADMIN_PORTS["destination"]
    assert leaf_metrics_port(_pod(MESH, name="gateway"), MESH) == PROXY_ADMIN_PORT


@pytest.mark.parametrize("pod", [
    _pod(MESH, name="identity"),  # the issuer itself: signs leaves, holds none
    _pod(MESH, name="injector"),
    _pod("shop", name="destination"),  # only the mesh's own destination counts
    _pod("shop"),  # not meshed
    _pod("shop", annotated=True, phase="Pending"),
    _pod("shop", annotated=True, deleting=True),
    _pod(MESH, name="destination", deleting=True),
])
def test_pods_without_a_leaf_or_on_their_way_out_are_not_asked(pod: dict[str, Any]) -> None:
    assert leaf_metrics_port(pod, MESH) is None
