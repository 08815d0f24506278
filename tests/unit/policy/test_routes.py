"""Outbound routing from HTTPRoutes whose parent is a Service."""

from __future__ import annotations

from typing import Any

from mesh.policy import PolicySet, RequestInfo, WeightedBackend, outbound_routes, parse_policy_object

SUFFIX = "serviceaccount.identity.meshfleet.cluster.local"


def route(name: str, spec: dict[str, Any], created: str = "2024-01-01T00:00:00Z", **ann: str) -> Any:
    meta = {"name": name, "namespace": "shop", "creationTimestamp": created, "annotations": ann}
    return parse_policy_object({"kind": "HTTPRoute", "metadata": meta, "spec": spec}, SUFFIX)


SPLIT = {
    "parentRefs": [{"name": "api", "kind": "Service", "group": "core", "port": 8080}],
    "rules": [
        {
            "matches": [{"path": {"type": "PathPrefix", "value": "/admin"}}],
            "backendRefs": [{"name": "api-admin"}],
            "timeouts": {"request": "2s"},
        },
        {"backendRefs": [{"name": "api-v1", "weight": 90}, {"name": "api-v2", "weight": 10, "port": 9090}]},
    ],
}


def test_no_route_means_the_service_itself() -> None:
    assert outbound_routes("shop", "api", 8080, PolicySet.of([])) is None


def test_weighted_backends_and_rule_selection() -> None:
    routes = outbound_routes(
        "shop", "api", 8080, PolicySet.of([route("split", SPLIT, **{"retry.meshfleet.io/limit": "2"})])
    )
    assert routes is not None
    assert routes.route == "shop/split"
    assert routes.retry is not None
    assert routes.retry.limit == 2
    catch_all = routes.catch_all()
    assert catch_all is not None
    assert catch_all.backends == (
        WeightedBackend("shop", "api-v1", 8080, 90),
        WeightedBackend("shop", "api-v2", 9090, 10),
    )
    admin = routes.rule_for(RequestInfo("/admin/users"))
    assert admin is not None
    assert admin.request_timeout == 2.0
    assert admin.backends == (WeightedBackend("shop", "api-admin", 8080, 1),)
    assert routes.rule_for(RequestInfo("/orders")) is catch_all


def test_a_route_for_another_port_or_service_does_not_apply() -> None:
    policies = PolicySet.of([route("split", SPLIT)])
    assert outbound_routes("shop", "api", 9999, policies) is None
    assert outbound_routes("shop", "web", 8080, policies) is None
    assert outbound_routes("other", "api", 8080, policies) is None


def test_the_oldest_route_wins() -> None:
    newer = route(
        "aaa-newer",
        {"parentRefs": [{"name": "api"}], "rules": [{"backendRefs": [{"name": "x"}]}]},
        "2025-01-01T00:00:00Z",
    )
    older = route(
        "zzz-older",
        {"parentRefs": [{"name": "api"}], "rules": [{"backendRefs": [{"name": "y"}]}]},
        "2023-01-01T00:00:00Z",
    )
    routes = outbound_routes("shop", "api", 8080, PolicySet.of([newer, older]))
    assert routes is not None
    assert routes.route == "shop/zzz-older"


def test_a_rule_without_backends_sends_to_the_parent() -> None:
    r = route("t", {"parentRefs": [{"name": "api"}], "rules": [{"timeouts": {"request": "5s"}}]})
    routes = outbound_routes("shop", "api", 8080, PolicySet.of([r]))
    assert routes is not None
    rule = routes.catch_all()
    assert rule is not None
    assert rule.backends == (WeightedBackend("shop", "api", 8080, 1),)
    assert rule.request_timeout == 5.0
