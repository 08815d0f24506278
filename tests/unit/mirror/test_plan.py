"""The mirrors of one Link, and the writes that bring the local cluster to them."""

from __future__ import annotations

import copy
from typing import Any

from mesh.control.mirror import (
    EXPORT_LABEL,
    MANAGED_BY_LABEL,
    CreateNamespace,
    CreateObject,
    DeleteObject,
    LinkSpec,
    LocalObject,
    NamespaceView,
    Plan,
    RemoteService,
    ReplaceObject,
    ServicePort,
    desired_mirrors,
    gateway_ips,
    local_object,
    plan_link,
    remote_service,
    slice_addresses,
)
from mesh.wellknown import MIRROR_CLUSTER_LABEL

Obj = dict[str, Any]
IDENTITY = "gateway.meshfleet.serviceaccount.identity.meshfleet.cluster.local"
LINK = LinkSpec("meshfleet/beta", "beta", "cluster.local", 4143, IDENTITY)
GW = ("10.101.0.7",)


def svc(name: str, ns: str = "shop", *, ports: tuple[tuple[str, int, str], ...] = (("http", 8080, "TCP"),),
        exported: bool = True, labels: dict[str, str] | None = None) -> RemoteService:
    all_labels = {**(labels or {}), **({EXPORT_LABEL: "true"} if exported else {})}
    return RemoteService(ns, name, tuple(sorted(all_labels.items())), tuple(ServicePort(*p) for p in ports))


def as_served(body: Obj, rv: str = "5") -> Obj:
    """What the API server gives back for a body it created: defaults filled in."""
    out = copy.deepcopy(body)
    out["metadata"]["resourceVersion"] = rv
    out["metadata"]["uid"] = "u-" + out["metadata"]["name"]
    out["metadata"]["managedFields"] = [{"manager": "mirror"}]
    if out["kind"] == "Service":
        out["spec"].update({"clusterIP": "10.96.4.4", "clusterIPs": ["10.96.4.4"], "sessionAffinity": "None",
                            "ipFamilies": ["IPv4"], "internalTrafficPolicy": "Cluster"})
        for p in out["spec"]["ports"]:
            p["targetPort"] = p["port"]
        out["status"] = {"loadBalancer": {}}
    return out


def described(plan: Plan) -> list[tuple[str, str, str, str]]:
    """(action, kind, namespace, name) of every object write."""
    return [(type(a).__name__, a.kind, a.namespace, a.name) for a in plan.actions if not isinstance(a, CreateNamespace)]


def converge(link: LinkSpec | None, remote: list[RemoteService], gateway: tuple[str, ...] = GW, *,
             services: dict[tuple[str, str], LocalObject] | None = None,
             slices: dict[tuple[str, str], LocalObject] | None = None,
             namespaces: tuple[str, ...] = ("shop",), clusters: frozenset[str] = frozenset()) -> Plan:
    return plan_link(link, clusters, remote, gateway, services or {}, slices or {},
                     {n: NamespaceView(n, False) for n in namespaces})


def applied(plan: Plan, services: dict[tuple[str, str], LocalObject] | None = None,
            slices: dict[tuple[str, str], LocalObject] | None = None
            ) -> tuple[dict[tuple[str, str], LocalObject], dict[tuple[str, str], LocalObject]]:
    """The local cluster after the plan's writes, as a watch would show it."""
    services, slices = dict(services or {}), dict(slices or {})
    for a in plan.actions:
        if isinstance(a, CreateObject | ReplaceObject):
            store = services if a.kind == "Service" else slices
            store[(a.namespace, a.name)] = local_object(as_served(a.body))
        elif isinstance(a, DeleteObject):
            (services if a.kind == "Service" else slices).pop((a.namespace, a.name))
    return services, slices


def test_an_exported_service_gets_a_mirror_service_and_slice_per_the_contract() -> None:
    source = svc("web", ports=(("http", 8080, "TCP"), ("grpc", 9090, "TCP"), ("dns", 53, "UDP")))
    plan = converge(LINK, [source])
    assert plan.skipped == ()
    creates = [a for a in plan.actions if isinstance(a, CreateObject)]
    assert [(a.kind, a.namespace, a.name) for a in creates] == [
        ("Service", "shop", "web-beta"), ("EndpointSlice", "shop", "web-beta")]
    service, endpoint_slice = creates[0].body, creates[1].body
    assert service == {
        "apiVersion": "v1", "kind": "Service",
        "metadata": {
            "name": "web-beta", "namespace": "shop",
            "labels": {"multicluster.meshfleet.io/mirrored-service": "true",
                       "multicluster.meshfleet.io/cluster-name": "beta",
                       "app.kubernetes.io/managed-by": "meshfleet-mirror"},
            "annotations": {"multicluster.meshfleet.io/remote-svc-fq-name": "web.shop.svc.cluster.local",
                            "multicluster.meshfleet.io/remote-gateway-identity": IDENTITY},
        },
        "spec": {"type": "ClusterIP", "ports": [{"name": "http", "port": 8080, "protocol": "TCP"},
                                                {"name": "grpc", "port": 9090, "protocol": "TCP"}]},
    }
    assert endpoint_slice == {
        "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
        "metadata": {"name": "web-beta", "namespace": "shop",
                     "labels": {"kubernetes.io/service-name": "web-beta",
                                "endpointslice.kubernetes.io/managed-by": "mirror.multicluster.meshfleet.io",
                                "multicluster.meshfleet.io/cluster-name": "beta"}},
        "addressType": "IPv4",
        "endpoints": [{"addresses": ["10.101.0.7"], "conditions": {"ready": True}}],
        "ports": [{"name": "http", "port": 4143, "protocol": "TCP"}, {"name": "grpc", "port": 4143, "protocol": "TCP"}],
    }


def test_an_unnamed_port_keeps_no_name_on_the_service_and_an_empty_one_on_the_slice() -> None:
    plan = converge(LINK, [svc("db", ports=(("", 5432, "TCP"),))])
    service, endpoint_slice = (a.body for a in plan.actions if isinstance(a, CreateObject))
    assert service["spec"]["ports"] == [{"port": 5432, "protocol": "TCP"}]
    assert endpoint_slice["ports"] == [{"name": "", "port": 4143, "protocol": "TCP"}]


def test_services_not_matching_the_selector_or_themselves_mirrors_are_not_mirrored() -> None:
    mirrored_elsewhere = svc("web-alpha", labels={"multicluster.meshfleet.io/mirrored-service": "true"})
    plan = converge(LINK, [svc("private", exported=False), mirrored_elsewhere,
                           svc("off", exported=False, labels={EXPORT_LABEL: "false"})])
    assert plan.actions == ()


def test_a_service_without_tcp_ports_or_with_too_long_a_mirror_name_is_skipped_with_a_reason() -> None:
    plan = converge(LINK, [svc("dns", ports=(("dns", 53, "UDP"),)), svc("x" * 60)])
    assert plan.actions == ()
    reasons = {s.name: s.reason for s in plan.skipped}
    assert reasons["dns"] == "it has no TCP port"
    assert "longer than 63" in reasons["x" * 60]


def test_a_missing_namespace_is_created_once_first_and_labelled_as_the_mirrors() -> None:
    plan = converge(LINK, [svc("a", "new"), svc("b", "new"), svc("c", "shop")], namespaces=("shop",))
    first, *rest = plan.actions
    assert first == CreateNamespace("new", {"apiVersion": "v1", "kind": "Namespace", "metadata": {
        "name": "new", "labels": {"multicluster.meshfleet.io/created-by-mirror": "true"}}})
    assert not any(isinstance(a, CreateNamespace) for a in rest)
    assert len(rest) == 6


def test_a_converged_cluster_needs_no_writes_despite_server_defaults() -> None:
    remote = [svc("web"), svc("db", ports=(("", 5432, "TCP"),))]
    services, slices = applied(converge(LINK, remote))
    assert (len(services), len(slices)) == (2, 2)
    assert converge(LINK, remote, services=services, slices=slices).actions == ()


def test_a_new_port_on_the_source_replaces_the_mirror_service_and_slice_keeping_the_cluster_ip() -> None:
    services, slices = applied(converge(LINK, [svc("web")]))
    grown = svc("web", ports=(("http", 8080, "TCP"), ("admin", 9990, "TCP")))
    plan = converge(LINK, [grown], services=services, slices=slices)
    assert [(d[0], d[1]) for d in described(plan)] == [
        ("ReplaceObject", "Service"), ("ReplaceObject", "EndpointSlice")]
    service, endpoint_slice = (a.body for a in plan.actions if isinstance(a, ReplaceObject))
    assert service["spec"]["ports"] == [{"name": "http", "port": 8080, "protocol": "TCP"},
                                        {"name": "admin", "port": 9990, "protocol": "TCP"}]
    assert service["spec"]["clusterIP"] == "10.96.4.4"
    assert service["metadata"]["resourceVersion"] == "5"  # a racing write makes the replace fail, not win
    assert "managedFields" not in service["metadata"]
    assert "status" not in service
    assert [p["name"] for p in endpoint_slice["ports"]] == ["http", "admin"]
    assert endpoint_slice["metadata"]["resourceVersion"] == "5"
    assert len(plan.actions) == 2


def test_a_gateway_change_replaces_only_the_slices() -> None:
    remote = [svc("web"), svc("api")]
    services, slices = applied(converge(LINK, remote))
    plan = converge(LINK, remote, ("10.101.0.8", "10.101.0.9"), services=services, slices=slices)
    assert [(a.kind, a.name) for a in plan.actions if isinstance(a, ReplaceObject)] == [
        ("EndpointSlice", "api-beta"), ("EndpointSlice", "web-beta")]
    assert len(plan.actions) == 2
    for a in plan.actions:
        assert isinstance(a, ReplaceObject)
        assert [e["addresses"] for e in a.body["endpoints"]] == [["10.101.0.8"], ["10.101.0.9"]]


def test_without_a_gateway_address_the_service_exists_with_an_empty_slice() -> None:
    plan = converge(LINK, [svc("web")], ())
    endpoint_slice = next(a.body for a in plan.actions if isinstance(a, CreateObject) and a.kind == "EndpointSlice")
    assert endpoint_slice["endpoints"] == []
    assert any(isinstance(a, CreateObject) and a.kind == "Service" for a in plan.actions)


def test_unexporting_or_deleting_the_source_deletes_its_mirror_slice_first() -> None:
    services, slices = applied(converge(LINK, [svc("web"), svc("api")]))
    plan = converge(LINK, [svc("web", exported=False)], services=services, slices=slices)
    assert plan.actions == (DeleteObject("EndpointSlice", "shop", "api-beta", "5"),
                            DeleteObject("Service", "shop", "api-beta", "5"),
                            DeleteObject("EndpointSlice", "shop", "web-beta", "5"),
                            DeleteObject("Service", "shop", "web-beta", "5"))


def test_a_removed_link_deletes_all_its_mirrors_and_no_namespace() -> None:
    services, slices = applied(converge(LINK, [svc("web", "a"), svc("api", "b")], namespaces=()))
    plan = converge(None, [], services=services, slices=slices, clusters=frozenset({"beta"}))
    assert described(plan) == [
        ("DeleteObject", "EndpointSlice", "a", "web-beta"), ("DeleteObject", "Service", "a", "web-beta"),
        ("DeleteObject", "EndpointSlice", "b", "api-beta"), ("DeleteObject", "Service", "b", "api-beta")]
    assert len(plan.actions) == 4


def test_a_retargeted_link_retires_the_old_clusters_mirrors() -> None:
    services, slices = applied(converge(LINK, [svc("web")]))
    gamma = LinkSpec("meshfleet/beta", "gamma", "cluster.local", 4143, IDENTITY)
    plan = converge(gamma, [svc("web")], services=services, slices=slices, clusters=frozenset({"beta"}))
    assert described(plan) == [
        ("CreateObject", "Service", "shop", "web-gamma"), ("CreateObject", "EndpointSlice", "shop", "web-gamma"),
        ("DeleteObject", "EndpointSlice", "shop", "web-beta"), ("DeleteObject", "Service", "shop", "web-beta")]


def test_objects_not_ours_are_never_touched() -> None:
    # A user's Service that happens to be called like a mirror, and a mirror of another Link's cluster.
    theirs = local_object({"metadata": {"name": "web-beta", "namespace": "shop", "resourceVersion": "1",
                                        "labels": {"app": "web"}}, "spec": {"selector": {"app": "web"}}})
    other_link = as_served({"apiVersion": "v1", "kind": "Service", "metadata": {
        "name": "web-gamma", "namespace": "shop",
        "labels": {MANAGED_BY_LABEL: "meshfleet-mirror", MIRROR_CLUSTER_LABEL: "gamma"}}, "spec": {"ports": []}})
    services = {("shop", "web-beta"): theirs, ("shop", "web-gamma"): local_object(other_link)}
    plan = converge(LINK, [svc("web")], services=services)
    assert plan.actions == ()
    assert [(s.name, s.reason) for s in plan.skipped] == [
        ("web-beta", "a Service of that name exists and is not a mirror of ours")]
    assert converge(None, [], services=services, clusters=frozenset({"beta"})).actions == ()


def test_a_slice_of_that_name_not_ours_is_left_alone_and_reported() -> None:
    foreign = local_object({"metadata": {"name": "web-beta", "namespace": "shop", "resourceVersion": "3",
                                         "labels": {"endpointslice.kubernetes.io/managed-by": "someone"}},
                            "addressType": "IPv4"})
    plan = converge(LINK, [svc("web")], slices={("shop", "web-beta"): foreign})
    assert plan.actions == ()
    assert plan.skipped[0].reason == "an EndpointSlice of that name exists and is not ours"


def test_a_mirror_edited_by_hand_is_put_back_keeping_the_other_labels() -> None:
    services, slices = applied(converge(LINK, [svc("web")]))
    edited = copy.deepcopy(services[("shop", "web-beta")].body)
    edited["metadata"]["labels"]["team"] = "shop"
    edited["metadata"]["annotations"]["multicluster.meshfleet.io/remote-gateway-identity"] = "someone-else"
    edited["spec"]["selector"] = {"app": "web"}
    services[("shop", "web-beta")] = local_object(edited)
    plan = converge(LINK, [svc("web")], services=services, slices=slices)
    (action,) = plan.actions
    assert isinstance(action, ReplaceObject)
    assert action.body["metadata"]["labels"]["team"] == "shop"
    assert action.body["metadata"]["annotations"]["multicluster.meshfleet.io/remote-gateway-identity"] == IDENTITY
    assert "selector" not in action.body["spec"]


def test_a_slice_of_another_address_type_is_deleted_and_created_again() -> None:
    services, slices = applied(converge(LINK, [svc("web")]))
    body = copy.deepcopy(slices[("shop", "web-beta")].body)
    body["addressType"] = "IPv6"
    slices[("shop", "web-beta")] = local_object(body)
    plan = converge(LINK, [svc("web")], services=services, slices=slices)
    assert described(plan) == [
        ("DeleteObject", "EndpointSlice", "shop", "web-beta"), ("CreateObject", "EndpointSlice", "shop", "web-beta")]


def test_nothing_is_created_in_a_terminating_namespace() -> None:
    plan = plan_link(LINK, frozenset(), [svc("web")], GW, {}, {}, {"shop": NamespaceView("shop", True)})
    assert plan.actions == ()
    assert plan.skipped[0].reason == "namespace shop is being deleted"


def test_gateway_ips_come_from_the_link_address_or_else_the_ready_gateway_endpoints() -> None:
    ready = {"addressType": "IPv4", "endpoints": [
        {"addresses": ["10.101.0.9"], "conditions": {"ready": True}},
        {"addresses": ["10.101.0.7"]},  # readiness unknown counts as ready
        {"addresses": ["10.101.0.8"], "conditions": {"ready": False}},
    ]}
    ipv6 = {"addressType": "IPv6", "endpoints": [{"addresses": ["fd00::1"], "conditions": {"ready": True}}]}
    slices = [slice_addresses(ready), slice_addresses(ipv6), ("10.101.0.7",)]
    assert gateway_ips(LINK, slices) == ("10.101.0.7", "10.101.0.9")
    pinned = LinkSpec("l", "beta", "cluster.local", 4143, IDENTITY, gateway_address="192.0.2.1")
    assert gateway_ips(pinned, slices) == ("192.0.2.1",)
    named = LinkSpec("l", "beta", "cluster.local", 4143, IDENTITY, gateway_address="gw.example.com")
    assert gateway_ips(named, slices, ["192.0.2.3", "192.0.2.2", "192.0.2.3"]) == ("192.0.2.2", "192.0.2.3")
    assert gateway_ips(named, slices) == ()


def test_remote_service_views_default_the_protocol_and_ignore_junk() -> None:
    view = remote_service({"metadata": {"name": "web", "namespace": "shop", "labels": {EXPORT_LABEL: "true"}},
                           "spec": {"ports": [{"port": 80}, {"name": "bad", "port": "http"}, "junk"]}})
    assert view.ports == (ServicePort("", 80, "TCP"),)
    mirrors, _ = desired_mirrors(LINK, [view], GW)
    assert [m.name for m in mirrors] == ["web-beta"]
