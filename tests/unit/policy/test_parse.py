"""Parsing policy.meshfleet.io objects: what is accepted, and errors that name the object and field."""

from __future__ import annotations

from typing import Any

import pytest

from mesh.policy import (
    DefaultPolicy,
    HTTPRoute,
    MeshTLSAuthentication,
    NetworkAuthentication,
    Server,
    parse_breaker_annotations,
    parse_duration,
    parse_policy_object,
)
from mesh.policy.errors import InvalidPolicyObject

SUFFIX = "serviceaccount.identity.meshfleet.cluster.local"


def obj(kind: str, spec: dict[str, Any], name: str = "x", ns: str = "shop", **meta: Any) -> dict[str, Any]:
    return {
        "apiVersion": "policy.meshfleet.io/v1alpha1",
        "kind": kind,
        "metadata": {"name": name, "namespace": ns, **meta},
        "spec": spec,
    }


def test_server_with_named_port_and_selector() -> None:
    s = parse_policy_object(
        obj(
            "Server",
            {
                "podSelector": {
                    "matchLabels": {"app": "api"},
                    "matchExpressions": [{"key": "tier", "operator": "In", "values": ["a", "b"]}],
                },
                "port": "http",
                "proxyProtocol": "HTTP/1",
                "accessPolicy": "audit",
            },
        ),
        SUFFIX,
    )
    assert isinstance(s, Server)
    assert s.port == "http"
    assert s.access_policy is DefaultPolicy.AUDIT
    assert s.pod_selector.matches({"app": "api", "tier": "b"})
    assert not s.pod_selector.matches({"app": "api", "tier": "c"})
    assert not s.pod_selector.matches({"tier": "a"})


def test_identity_refs_become_dns_identities() -> None:
    m = parse_policy_object(
        obj(
            "MeshTLSAuthentication",
            {
                "identityRefs": [
                    {"kind": "ServiceAccount", "name": "web"},
                    {"kind": "ServiceAccount", "name": "ops", "namespace": "tools"},
                    {"kind": "Namespace", "name": "batch"},
                ]
            },
        ),
        SUFFIX,
    )
    assert isinstance(m, MeshTLSAuthentication)
    assert m.identities == (f"web.shop.{SUFFIX}", f"ops.tools.{SUFFIX}", f"*.batch.{SUFFIX}")


def test_a_wildcard_in_the_middle_of_an_identity_is_refused() -> None:
    with pytest.raises(InvalidPolicyObject, match=r"MeshTLSAuthentication shop/x: spec\.identities\[0\]"):
        parse_policy_object(obj("MeshTLSAuthentication", {"identities": ["web.*.cluster.local"]}), SUFFIX)


def test_network_authentication_normalises_cidrs_and_refuses_garbage() -> None:
    n = parse_policy_object(
        obj("NetworkAuthentication", {"networks": [{"cidr": "10.1.2.3/16", "except": ["10.1.9.0/24"]}]}), SUFFIX
    )
    assert isinstance(n, NetworkAuthentication)
    assert n.networks[0].cidr == "10.1.0.0/16"
    with pytest.raises(InvalidPolicyObject, match=r"networks\[0\]\.cidr.*'ten' is not a CIDR"):
        parse_policy_object(obj("NetworkAuthentication", {"networks": [{"cidr": "ten"}]}), SUFFIX)


def test_authorization_policy_target_kind_is_checked() -> None:
    with pytest.raises(InvalidPolicyObject, match="targetRef.kind.*'Pod' is not Server, HTTPRoute or Namespace"):
        parse_policy_object(
            obj(
                "AuthorizationPolicy",
                {
                    "targetRef": {"kind": "Pod", "name": "p"},
                    "requiredAuthenticationRefs": [{"kind": "MeshTLSAuthentication", "name": "m"}],
                },
            ),
            SUFFIX,
        )


def test_http_route_with_weights_timeouts_and_retry_annotations() -> None:
    r = parse_policy_object(
        obj(
            "HTTPRoute",
            {
                "parentRefs": [{"name": "api", "port": 8080}],
                "rules": [
                    {
                        "matches": [{"path": {"type": "PathPrefix", "value": "/v2"}, "method": "post"}],
                        "backendRefs": [{"name": "api-v1", "weight": 90}, {"name": "api-v2", "weight": 10}],
                        "timeouts": {"request": "1m30s", "backendRequest": "250ms"},
                    }
                ],
            },
            annotations={"retry.meshfleet.io/limit": "3", "retry.meshfleet.io/conditions": "5xx,timeout"},
        ),
        SUFFIX,
    )
    assert isinstance(r, HTTPRoute)
    assert r.parents[0].kind == "Service"
    assert r.parents[0].port == 8080
    rule = r.rules[0]
    assert [(b.name, b.weight, b.namespace) for b in rule.backends] == [("api-v1", 90, "shop"), ("api-v2", 10, "shop")]
    assert rule.request_timeout == 90.0
    assert rule.backend_request_timeout == 0.25
    assert rule.matches[0].method == "POST"
    assert r.retry is not None
    assert r.retry.limit == 3
    assert r.retry.conditions == ("5xx", "timeout")


def test_unknown_retry_condition_is_named() -> None:
    with pytest.raises(InvalidPolicyObject, match=r"retry.meshfleet.io/conditions.*\['teapot'\]"):
        parse_policy_object(
            obj(
                "HTTPRoute",
                {"parentRefs": [{"name": "api"}]},
                annotations={"retry.meshfleet.io/limit": "1", "retry.meshfleet.io/conditions": "teapot"},
            ),
            SUFFIX,
        )


@pytest.mark.parametrize(("text", "seconds"), [("500ms", 0.5), ("10s", 10.0), ("1m30s", 90.0), ("1.5h", 5400.0)])
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text, "f") == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "10", "s", "10x", "1m 30s", "-1s"])
def test_bad_durations_name_the_field(text: str) -> None:
    with pytest.raises(InvalidPolicyObject, match="^timeouts.request: "):
        parse_duration(text, "timeouts.request")


def test_breaker_annotations() -> None:
    assert parse_breaker_annotations({}, "Service a/b") is None
    b = parse_breaker_annotations(
        {
            "balancer.meshfleet.io/failure-accrual-consecutive-failures": "3",
            "balancer.meshfleet.io/failure-accrual-max-backoff": "10s",
        },
        "Service a/b",
    )
    assert b is not None
    assert (b.consecutive_failures, b.min_backoff, b.max_backoff) == (3, 1.0, 10.0)
    with pytest.raises(InvalidPolicyObject, match="Service a/b"):
        parse_breaker_annotations({"balancer.meshfleet.io/failure-accrual-consecutive-failures": "0"}, "Service a/b")


def test_unknown_kind() -> None:
    with pytest.raises(InvalidPolicyObject, match="kind 'Gateway' is not one of"):
        parse_policy_object(obj("Gateway", {}), SUFFIX)
