from fleet.apply.health import deployment_health, is_established
from fleet.apply.plan import (
    HASH_ANNOTATION,
    MANAGED_BY_LABEL,
    REVISION_ANNOTATION,
    ObjectRef,
    content_hash,
    ordered,
    stamp,
    to_prune,
)


def obj(kind: str, name: str, ns: str = "", api: str = "v1") -> dict:  # type: ignore[type-arg]
    meta = {"name": name, **({"namespace": ns} if ns else {})}
    return {"apiVersion": api, "kind": kind, "metadata": meta}


def test_apply_order_puts_crds_first_and_webhooks_last() -> None:
    objs = [obj("MutatingWebhookConfiguration", "inj", api="admissionregistration.k8s.io/v1"),
            obj("Deployment", "identity", "mesh", "apps/v1"), obj("Server", "web", "demo", "policy.meshfleet.io/v1"),
            obj("Namespace", "mesh"), obj("CustomResourceDefinition", "servers.policy.meshfleet.io"),
            obj("ConfigMap", "bundle", "mesh"), obj("Service", "identity", "mesh"), obj("ServiceAccount", "id", "mesh")]
    kinds = [o["kind"] for o in ordered(objs)]
    assert kinds == ["CustomResourceDefinition", "Namespace", "ServiceAccount", "ConfigMap", "Service", "Deployment",
                     "Server", "MutatingWebhookConfiguration"]


def test_prune_only_what_the_inventory_had_in_reverse_order() -> None:
    prev = {ObjectRef.of(o) for o in (obj("Namespace", "old"), obj("Deployment", "gone", "old", "apps/v1"),
                                      obj("ConfigMap", "kept", "mesh"))}
    new = {ObjectRef.of(obj("ConfigMap", "kept", "mesh")), ObjectRef.of(obj("Service", "new", "mesh"))}
    assert [r.kind for r in to_prune(prev, new)] == ["Deployment", "Namespace"]


def test_stamp_labels_and_annotates_and_the_hash_follows_content() -> None:
    a = stamp({**obj("ConfigMap", "c", "mesh"), "data": {"k": "1"}}, "east", "abc123")
    b = stamp({**obj("ConfigMap", "c", "mesh"), "data": {"k": "2"}}, "east", "abc123")
    assert a["metadata"]["labels"][MANAGED_BY_LABEL] == "meshfleet"
    assert a["metadata"]["annotations"][REVISION_ANNOTATION] == "abc123"
    assert a["metadata"]["annotations"][HASH_ANNOTATION] != b["metadata"]["annotations"][HASH_ANNOTATION]
    # A new revision with the same content keeps the same hash.
    c = stamp({**obj("ConfigMap", "c", "mesh"), "data": {"k": "1"}}, "east", "def456")
    assert content_hash(a) == content_hash(c)


def test_deployment_health() -> None:
    dep = {"metadata": {"name": "d", "namespace": "n", "generation": 2}, "spec": {"replicas": 2},
           "status": {"observedGeneration": 1, "availableReplicas": 2, "updatedReplicas": 2}}
    assert not deployment_health(dep).ready
    dep["status"]["observedGeneration"] = 2
    assert deployment_health(dep).ready
    dep["status"]["availableReplicas"] = 1
    assert "1/2 available" in deployment_health(dep).message
    assert is_established({"status": {"conditions": [{"type": "Established", "status": "True"}]}})
    assert not is_established({"status": {}})


def test_workloads_of_injected_namespaces_wait_for_the_webhook() -> None:
    from fleet.apply.staged import meshed_workloads

    demo_ns = {**obj("Namespace", "demo"), "metadata": {"name": "demo", "labels": {"meshfleet.io/inject": "enabled"}}}
    objs = [demo_ns, obj("Deployment", "web", "demo", "apps/v1"), obj("Service", "web", "demo"),
            obj("ConfigMap", "trust-anchors", "demo"), obj("Namespace", "meshfleet"),
            obj("Deployment", "injector", "meshfleet", "apps/v1")]
    assert [(o["kind"], o["metadata"]["name"]) for o in meshed_workloads(objs)] == [("Deployment", "web")]
