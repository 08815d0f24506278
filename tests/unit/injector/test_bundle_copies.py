"""Which namespaces get a copy of the mesh's trust bundle, and which writes keep the copies right (pure)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from mesh.control.injector import (
    COPY_LABEL,
    BundleScope,
    BundleView,
    CreateCopy,
    DeleteCopy,
    NamespaceView,
    ReplaceCopy,
    bundle_view,
    is_meshed_pod,
    namespace_view,
    plan_copies,
)
from mesh.pki import certificates_to_pem, fingerprint, generate_private_key, issue_trust_anchor, parse_bundle

SCOPE = BundleScope("meshfleet")
KEY = "ca-bundle.crt"


def anchor_pem(*names: str) -> str:
    now = datetime.now(UTC)
    certs = [issue_trust_anchor(generate_private_key(), common_name=n, now=now) for n in names]
    return certificates_to_pem(certs).decode("ascii")


OLD = anchor_pem("old root")
BOTH = OLD + anchor_pem("new root")


def cm(namespace: str, pem: str, *, copy: bool, rv: str = "7", labels: dict[str, str] | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": "trust-anchors", "namespace": namespace, "resourceVersion": rv,
                            "labels": dict(labels or {})}
    if copy:
        meta["labels"][COPY_LABEL] = "true"
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": {KEY: pem}}


def ns(name: str, *, inject: str | None = None, how: str = "annotations", terminating: bool = False) -> NamespaceView:
    meta: dict[str, Any] = {"name": name}
    if inject is not None:
        meta[how] = {"meshfleet.io/inject": inject}
    obj: dict[str, Any] = {"metadata": meta, "status": {"phase": "Terminating" if terminating else "Active"}}
    return namespace_view(obj)


def bundles(*objs: dict[str, Any]) -> dict[str, BundleView]:
    return {v.namespace: v for v in map(bundle_view, objs)}


def plan(namespaces: list[NamespaceView], present: dict[str, BundleView], meshed: set[str] | None = None,
         held: frozenset[str] = frozenset()) -> list[Any]:
    return list(plan_copies(SCOPE, present.get("meshfleet"), {n.name: n for n in namespaces}, meshed or set(),
                            present, held))


def test_a_namespace_annotated_for_injection_gets_a_copy_that_reads_as_the_same_anchors() -> None:
    (action,) = plan([ns("meshfleet"), ns("shop", inject="enabled")], bundles(cm("meshfleet", OLD, copy=False)))
    assert isinstance(action, CreateCopy)
    assert action.namespace == "shop"
    body = action.body
    assert (body["metadata"]["namespace"], body["metadata"]["name"]) == ("shop", "trust-anchors")
    # What a rotation reads back: the same set of anchor fingerprints as the mesh namespace's bundle.
    assert {fingerprint(c) for c in parse_bundle(body["data"][KEY].encode())} == {
        fingerprint(c) for c in parse_bundle(OLD.encode())
    }
    labels = body["metadata"]["labels"]
    assert labels[COPY_LABEL] == "true"
    assert labels["app.kubernetes.io/managed-by"] != "meshfleet"  # never mistaken for a rendered object
    assert body["metadata"]["annotations"]["meshfleet.io/copied-from"] == "meshfleet/trust-anchors"


@pytest.mark.parametrize(("inject", "how", "copied"), [
    ("enabled", "labels", True),
    ("enabled", "annotations", True),
    ("disabled", "annotations", False),
    (None, "annotations", False),
])
def test_the_namespace_opt_in_counts_as_label_or_annotation(inject: str | None, how: str, copied: bool) -> None:
    actions = plan([ns("shop", inject=inject, how=how)], bundles(cm("meshfleet", OLD, copy=False)))
    assert [a.namespace for a in actions] == (["shop"] if copied else [])


def test_meshed_pods_keep_a_copy_without_namespace_opt_in() -> None:
    actions = plan([ns("shop")], bundles(cm("meshfleet", OLD, copy=False)), meshed={"shop"})
    assert [type(a) for a in actions] == [CreateCopy]


def test_a_namespace_a_pod_was_just_admitted_into_keeps_its_copy() -> None:
    present = bundles(cm("meshfleet", OLD, copy=False), cm("shop", OLD, copy=True))
    assert plan([ns("shop")], present, held=frozenset({"shop"})) == []


def test_the_mesh_namespace_and_kube_system_never_get_copies() -> None:
    namespaces = [ns("meshfleet", inject="enabled"), ns("kube-system", inject="enabled")]
    assert plan(namespaces, bundles(cm("meshfleet", OLD, copy=False)), meshed={"meshfleet", "kube-system"}) == []


def test_a_rotation_updates_every_stale_copy_and_only_copies() -> None:
    present = bundles(
        cm("meshfleet", BOTH, copy=False),
        cm("shop", OLD, copy=True, rv="41"),
        cm("demo", OLD, copy=False, labels={"app.kubernetes.io/managed-by": "meshfleet"}),  # the fleet's own
        cm("current", BOTH, copy=True),
    )
    namespaces = [ns(n, inject="enabled") for n in ("meshfleet", "shop", "demo", "current")]
    (action,) = plan(namespaces, present)
    assert isinstance(action, ReplaceCopy)
    assert action.namespace == "shop"
    assert action.body["data"] == {KEY: BOTH}
    assert action.body["metadata"]["resourceVersion"] == "41"  # a concurrent write makes ours fail, not win


def test_a_stale_copy_in_a_terminating_namespace_is_still_updated_but_no_copy_is_created_there() -> None:
    present = bundles(cm("meshfleet", BOTH, copy=False), cm("going", OLD, copy=True))
    actions = plan([ns("going", inject="enabled", terminating=True), ns("gone", inject="enabled", terminating=True)],
                   present)
    assert [(type(a), a.namespace) for a in actions] == [(ReplaceCopy, "going")]


def test_a_copy_goes_when_the_namespace_no_longer_asks_and_runs_no_meshed_pod() -> None:
    present = bundles(cm("meshfleet", OLD, copy=False), cm("shop", OLD, copy=True, rv="9"))
    assert plan([ns("shop", inject="disabled")], present) == [DeleteCopy("shop", "9")]
    assert plan([ns("shop", inject="disabled")], present, meshed={"shop"}) == []


def test_a_trust_anchors_configmap_someone_else_made_is_never_replaced_or_deleted() -> None:
    present = bundles(cm("meshfleet", BOTH, copy=False), cm("shop", OLD, copy=False))
    assert plan([ns("shop")], present) == []
    assert plan([ns("shop", inject="enabled")], present) == []


def test_without_the_mesh_bundle_nothing_is_created_changed_or_deleted() -> None:
    present = bundles(cm("shop", OLD, copy=True))
    assert plan([ns("shop"), ns("new", inject="enabled")], present) == []


def test_a_namespace_not_listed_yet_waits_for_its_namespace_event() -> None:
    assert plan([], bundles(cm("meshfleet", OLD, copy=False)), meshed={"shop"}) == []


@pytest.mark.parametrize(("pod", "meshed"), [
    ({"metadata": {"annotations": {"meshfleet.io/injected": "true"}}, "spec": {}}, True),
    ({"metadata": {}, "spec": {"initContainers": [{"name": "meshfleet-proxy"}]}}, True),
    ({"metadata": {"annotations": {"meshfleet.io/inject": "enabled"}}, "spec": {"containers": [{"name": "a"}]}}, False),
])
def test_a_pod_counts_as_meshed_when_the_injector_gave_it_a_proxy(pod: dict[str, Any], meshed: bool) -> None:
    assert is_meshed_pod(pod) is meshed


def test_a_namespace_being_deleted_is_seen_as_terminating() -> None:
    view = namespace_view({"metadata": {"name": "x", "deletionTimestamp": "2026-01-01T00:00:00Z"}})
    assert view.terminating
