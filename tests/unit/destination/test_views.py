"""Views computed from cached objects, and the diffs between them."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from mesh.control.destination import MeshSettings, build_index, destination_view, inbound_policy
from mesh.destination_client import (
    DestinationConfig,
    DestinationView,
    EndpointView,
    apply_update,
    diff_views,
    sort_endpoints,
    view_from_wire,
    view_to_wire,
)
from mesh.policy import DefaultPolicy, RetrySpec, evaluate

from .objects import SUFFIX, endpoint_slice, identity_of, pod, service

SETTINGS = MeshSettings(identity_suffix=SUFFIX)


def index(*objs: dict[str, Any], policies: tuple[dict[str, Any], ...] = ()) -> Any:
    def by(kind: str) -> dict[tuple[str, str], dict[str, Any]]:
        return {(o["metadata"].get("namespace", ""), o["metadata"]["name"]): o for o in objs if o["kind"] == kind}

    return build_index(by("Service"), by("EndpointSlice"), by("Pod"), by("Namespace"), policies, SUFFIX)


API = (
    service("api"),
    pod("api-0", "10.42.0.5"),
    pod("api-1", "10.42.0.6"),
    pod("legacy", "10.42.0.7", meshed=False),
    endpoint_slice(
        "api",
        [
            ("10.42.0.5", "api-0", True),
            ("10.42.0.6", "api-1", True),
            ("10.42.0.7", "legacy", True),
            ("10.42.0.8", None, False),
        ],
    ),
)


def test_every_name_form_and_the_cluster_ip_resolve_to_the_same_endpoints() -> None:
    idx = index(*API)
    views = [
        destination_view(t, idx, SETTINGS)
        for t in ("api.shop:8080", "api.shop.svc:8080", "api.shop.svc.cluster.local:8080", "10.96.0.10:8080")
    ]
    assert all(v is not None for v in views)
    endpoint_sets = {tuple(v.endpoints) for v in views if v}
    assert len(endpoint_sets) == 1
    eps = views[0].endpoints if views[0] else ()
    assert [(e.address, e.identity) for e in eps] == [
        ("10.42.0.5:8080", identity_of("api")),
        ("10.42.0.6:8080", identity_of("api")),
        ("10.42.0.7:8080", None),  # not meshed: plaintext
    ]
    assert views[3] is not None
    assert views[3].addresses == ("10.96.0.10:8080",)


def test_unknown_targets_and_ports() -> None:
    idx = index(*API)
    assert destination_view("api.shop:9999", idx, SETTINGS) is None
    assert destination_view("nope.shop:8080", idx, SETTINGS) is None
    assert destination_view("api.shop.svc.other.domain:8080", idx, SETTINGS) is None
    assert destination_view("192.0.2.1:80", idx, SETTINGS) is None


def test_a_pod_ip_resolves_to_that_pod_with_its_identity() -> None:
    v = destination_view("10.42.0.6:8080", index(*API), SETTINGS)
    assert v is not None
    assert [(e.address, e.identity) for e in v.endpoints] == [("10.42.0.6:8080", identity_of("api"))]
    assert v.service == ""


def test_opaque_ports_breaker_and_route_config() -> None:
    svc = service(
        "db",
        ip="10.96.0.11",
        ports=(5432,),
        **{
            "config.meshfleet.io/opaque-ports": "5432",
            "balancer.meshfleet.io/failure-accrual-consecutive-failures": "3",
        },
    )
    idx = index(svc, pod("db-0", "10.42.1.1", sa="db"), endpoint_slice("db", [("10.42.1.1", "db-0", True)], port=5432))
    v = destination_view("db.shop:5432", idx, SETTINGS)
    assert v is not None
    assert v.config.opaque is True
    assert v.endpoints[0].protocol == "opaque"
    assert v.config.breaker is not None
    assert v.config.breaker.consecutive_failures == 3


def test_weighted_backends_spread_each_share_over_its_endpoints() -> None:
    route = {
        "kind": "HTTPRoute",
        "metadata": {"name": "split", "namespace": "shop", "annotations": {"retry.meshfleet.io/limit": "2"}},
        "spec": {
            "parentRefs": [{"name": "api", "port": 8080}],
            "rules": [
                {
                    "backendRefs": [{"name": "api-v1", "weight": 90}, {"name": "api-v2", "weight": 10}],
                    "timeouts": {"request": "3s"},
                }
            ],
        },
    }
    objs = (
        service("api"),
        service("api-v1", ip="10.96.0.21"),
        service("api-v2", ip="10.96.0.22"),
        pod("v1-a", "10.42.2.1"),
        pod("v1-b", "10.42.2.2"),
        pod("v2-a", "10.42.3.1"),
        endpoint_slice("api-v1", [("10.42.2.1", "v1-a", True), ("10.42.2.2", "v1-b", True)]),
        endpoint_slice("api-v2", [("10.42.3.1", "v2-a", True)]),
    )
    v = destination_view("api.shop:8080", index(*objs, policies=(route,)), SETTINGS)
    assert v is not None
    by_backend: dict[str, float] = {}
    for e in v.endpoints:
        by_backend[dict(e.labels)["backend"]] = by_backend.get(dict(e.labels)["backend"], 0.0) + e.weight
    assert by_backend == {"shop/api-v1": 90.0, "shop/api-v2": 10.0}
    assert v.config.request_timeout == 3.0
    assert v.config.retry == RetrySpec(limit=2)
    assert v.config.route == "shop/split"


GATEWAY_ID = identity_of("gateway", "meshfleet")


def mirror(name: str, cluster: str, ip: str, **annotations: str) -> dict[str, Any]:
    """A mirror Service as the multicluster mirror writes it for ``name`` of ``cluster``."""
    svc = service(f"{name}-{cluster}", ip=ip, **annotations)
    svc["metadata"]["labels"] = {
        "multicluster.meshfleet.io/mirrored-service": "true",
        "multicluster.meshfleet.io/cluster-name": cluster,
    }
    return svc


def gateway_slice(name: str, gateway_ips: list[str]) -> dict[str, Any]:
    return endpoint_slice(name, [(ip, None, True) for ip in gateway_ips], port=4143) | {
        "ports": [{"name": "p8080", "port": 4143, "protocol": "TCP"}]
    }


MIRROR_NOTES = {
    "multicluster.meshfleet.io/remote-svc-fq-name": "api.shop.svc.cluster.local",
    "multicluster.meshfleet.io/remote-gateway-identity": GATEWAY_ID,
}


def test_a_mirrored_service_resolves_to_the_linked_clusters_gateway() -> None:
    idx = index(mirror("api", "west", "10.96.0.30", **MIRROR_NOTES), gateway_slice("api-west", ["10.101.0.7"]))
    v = destination_view("api-west.shop.svc.cluster.local:8080", idx, SETTINGS)
    assert v is not None
    (ep,) = v.endpoints
    # Dial the gateway's port, prove the gateway's identity, and ask it for the original service.
    assert (ep.host, ep.port, ep.proxy_port) == ("10.101.0.7", 8080, 4143)
    assert ep.identity == GATEWAY_ID
    assert ep.remote == "api.shop.svc.cluster.local:8080"
    assert dict(ep.labels)["cluster"] == "west"
    assert view_from_wire(view_to_wire(v)) == v


def test_a_mirror_without_its_gateway_identity_gets_no_endpoints() -> None:
    notes = {"multicluster.meshfleet.io/remote-svc-fq-name": "api.shop.svc.cluster.local"}
    idx = index(mirror("api", "west", "10.96.0.30", **notes), gateway_slice("api-west", ["10.101.0.7"]))
    v = destination_view("api-west.shop:8080", idx, SETTINGS)
    assert v is not None
    assert v.endpoints == ()


def test_a_split_can_send_a_share_to_another_cluster() -> None:
    route = {
        "kind": "HTTPRoute",
        "metadata": {"name": "failover", "namespace": "shop"},
        "spec": {
            "parentRefs": [{"name": "api", "port": 8080}],
            "rules": [{"backendRefs": [{"name": "api", "weight": 80}, {"name": "api-west", "weight": 20}]}],
        },
    }
    objs = (
        *API,
        mirror("api", "west", "10.96.0.30", **MIRROR_NOTES),
        gateway_slice("api-west", ["10.101.0.7"]),
    )
    v = destination_view("api.shop:8080", index(*objs, policies=(route,)), SETTINGS)
    assert v is not None
    remote = [e for e in v.endpoints if e.remote is not None]
    local = [e for e in v.endpoints if e.remote is None]
    assert [(e.host, e.proxy_port, e.identity, e.weight) for e in remote] == [("10.101.0.7", 4143, GATEWAY_ID, 20.0)]
    assert sum(e.weight for e in local) == 80.0


def test_inbound_policy_follows_annotations_and_servers() -> None:
    ns = {
        "kind": "Namespace",
        "metadata": {"name": "shop", "annotations": {"config.meshfleet.io/default-inbound-policy": "deny"}},
    }
    server = {
        "kind": "Server",
        "metadata": {"name": "http", "namespace": "shop"},
        "spec": {"podSelector": {"matchLabels": {"app": "api"}}, "port": "http", "accessPolicy": "all-authenticated"},
    }
    idx = index(ns, pod("api-0", "10.42.0.5", app="api"), policies=(server,))
    policy = inbound_policy("shop", "api-0", idx, SETTINGS)
    assert policy is not None
    assert policy.default is DefaultPolicy.DENY
    assert evaluate(policy, 8080, identity_of("web"), "10.42.0.9").allowed is True
    assert evaluate(policy, 8080, None, "10.42.0.9").allowed is False
    assert evaluate(policy, 9999, identity_of("web"), "10.42.0.9").reason == "denied"
    assert inbound_policy("shop", "missing", idx, SETTINGS) is None


def test_an_invalid_policy_object_is_skipped_and_reported() -> None:
    bad = {
        "kind": "Server",
        "metadata": {"name": "broken", "namespace": "shop"},
        "spec": {"port": 0, "podSelector": {}},
    }
    idx = index(*API, policies=(bad,))
    assert len(idx.policy_errors) == 1
    assert "Server shop/broken" in idx.policy_errors[0]
    assert destination_view("api.shop:8080", idx, SETTINGS) is not None


# -- diffs ------------------------------------------------------------------------------------------

endpoints = st.builds(
    EndpointView,
    host=st.sampled_from(["10.0.0.1", "10.0.0.2", "10.0.0.3", "fd00::1"]),
    port=st.sampled_from([80, 8080]),
    identity=st.sampled_from([None, "a.shop." + SUFFIX, "b.shop." + SUFFIX]),
    weight=st.sampled_from([1.0, 0.5, 90.0]),
    protocol=st.sampled_from(["unknown", "opaque"]),
    proxy_port=st.sampled_from([None, 4143]),
    remote=st.sampled_from([None, "api.shop.svc.cluster.local:8080"]),
)


@st.composite
def views(draw: st.DrawFn) -> DestinationView:
    eps = {e.address: e for e in draw(st.lists(endpoints, max_size=6))}
    return DestinationView(
        authority="api.shop:8080",
        namespace="shop",
        service=draw(st.sampled_from(["api", "api2"])),
        port=8080,
        addresses=draw(st.sampled_from([(), ("10.96.0.1:8080",)])),
        config=DestinationConfig(
            opaque=draw(st.booleans()),
            request_timeout=draw(st.sampled_from([None, 1.5])),
            retry=draw(st.sampled_from([None, RetrySpec(3, ("5xx",), 0.5)])),
        ),
        endpoints=sort_endpoints(eps.values()),
    )


@given(views(), views())
def test_applying_the_diff_gives_the_new_view(old: DestinationView, new: DestinationView) -> None:
    update = diff_views(old, new)
    if old == new:
        assert update is None
    else:
        assert update is not None
        assert apply_update(old, update) == new


@given(views())
def test_views_survive_the_wire(v: DestinationView) -> None:
    assert view_from_wire(view_to_wire(v)) == v


def test_an_endpoint_removal_is_a_small_update() -> None:
    old = destination_view("api.shop:8080", index(*API), SETTINGS)
    changed = list(API)
    changed[-1] = endpoint_slice("api", [("10.42.0.5", "api-0", True), ("10.42.0.7", "legacy", True)])
    new = destination_view("api.shop:8080", index(*changed), SETTINGS)
    assert old is not None
    assert new is not None
    assert diff_views(old, new) == {"remove": ["10.42.0.6:8080"]}
