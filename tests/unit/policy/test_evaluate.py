"""Inbound authorization as a proxy sees it: each default policy, Servers, authorizations, wildcards, CIDRs."""

from __future__ import annotations

from typing import Any

import pytest

from mesh.policy import (
    DefaultPolicy,
    InboundPolicy,
    Network,
    PodFacts,
    PolicySet,
    RequestInfo,
    compile_inbound,
    evaluate,
    inbound_from_wire,
    inbound_to_wire,
    parse_policy_object,
)

SUFFIX = "serviceaccount.identity.meshfleet.cluster.local"
WEB = f"web.shop.{SUFFIX}"
BATCH = f"cron.batch.{SUFFIX}"
CLUSTER_NETS = (Network("10.42.0.0/16"), Network("10.96.0.0/12"))
API_POD = PodFacts("shop", "api-0", {"app": "api"}, {"http": 8080, "admin": 9000})


def _o(kind: str, name: str, spec: dict[str, Any], ns: str = "shop") -> Any:
    return parse_policy_object({"kind": kind, "metadata": {"name": name, "namespace": ns}, "spec": spec}, SUFFIX)


def server(name: str = "api-http", port: Any = "http", **extra: Any) -> Any:
    return _o("Server", name, {"podSelector": {"matchLabels": {"app": "api"}}, "port": port, **extra})


def authz(name: str, target: dict[str, Any], *refs: tuple[str, str]) -> Any:
    return _o(
        "AuthorizationPolicy",
        name,
        {"targetRef": target, "requiredAuthenticationRefs": [{"kind": k, "name": n} for k, n in refs]},
    )


def meshtls(name: str, *identities: str) -> Any:
    return _o("MeshTLSAuthentication", name, {"identities": list(identities)})


def netauth(name: str, *cidrs: str, excepts: tuple[str, ...] = ()) -> Any:
    return _o("NetworkAuthentication", name, {"networks": [{"cidr": c, "except": list(excepts)} for c in cidrs]})


def compiled(*objects: Any, default: DefaultPolicy = DefaultPolicy.ALL_UNAUTHENTICATED) -> InboundPolicy:
    policy = compile_inbound(API_POD, PolicySet.of(objects), default, CLUSTER_NETS)
    # Whatever the proxy receives went through the wire form: check that it survives unchanged.
    assert inbound_from_wire(inbound_to_wire(policy)) == policy
    return policy


@pytest.mark.parametrize(
    ("default", "identity", "ip", "allowed", "reason"),
    [
        (DefaultPolicy.ALL_UNAUTHENTICATED, None, "192.0.2.1", True, "default-allow"),
        (DefaultPolicy.ALL_AUTHENTICATED, WEB, "192.0.2.1", True, "default-allow"),
        (DefaultPolicy.ALL_AUTHENTICATED, None, "10.42.0.7", False, "unauthenticated"),
        (DefaultPolicy.CLUSTER_AUTHENTICATED, None, "10.42.0.7", True, "default-allow"),
        (DefaultPolicy.CLUSTER_AUTHENTICATED, None, "192.0.2.1", False, "outside-cluster-networks"),
        (DefaultPolicy.CLUSTER_AUTHENTICATED, WEB, "192.0.2.1", True, "default-allow"),
        (DefaultPolicy.DENY, WEB, "10.42.0.7", False, "denied"),
        (DefaultPolicy.AUDIT, None, "192.0.2.1", True, "audit"),
    ],
)
def test_default_policies(default: DefaultPolicy, identity: str | None, ip: str, allowed: bool, reason: str) -> None:
    d = evaluate(compiled(default=default), 8080, identity, ip)
    assert (d.allowed, d.reason, d.rule) == (allowed, reason, f"default:{default.value}")


def test_a_server_without_authorizations_denies_its_port_only() -> None:
    policy = compiled(server())
    assert evaluate(policy, 8080, WEB, "10.42.0.7").allowed is False
    assert evaluate(policy, 8080, WEB, "10.42.0.7").rule == "server:shop/api-http"
    assert evaluate(policy, 9000, None, "192.0.2.1").allowed is True  # no Server: the default applies


def test_server_access_policy_is_the_fallback() -> None:
    policy = compiled(server(accessPolicy="all-authenticated"))
    assert evaluate(policy, 8080, WEB, "192.0.2.1").allowed is True
    assert evaluate(policy, 8080, None, "10.42.0.1").reason == "unauthenticated"


def test_only_the_authorized_identity_passes() -> None:
    policy = compiled(
        server(),
        authz("web-only", {"kind": "Server", "name": "api-http"}, ("MeshTLSAuthentication", "web")),
        meshtls("web", WEB),
    )
    ok = evaluate(policy, 8080, WEB, "10.42.0.7")
    assert (ok.allowed, ok.reason, ok.rule) == (True, "authorized", "shop/web-only")
    assert evaluate(policy, 8080, BATCH, "10.42.0.7").allowed is False
    assert evaluate(policy, 8080, None, "10.42.0.7").allowed is False


@pytest.mark.parametrize(
    ("pattern", "client", "allowed"),
    [
        ("*", BATCH, True),
        ("*", None, False),
        (f"*.shop.{SUFFIX}", WEB, True),
        (f"*.shop.{SUFFIX}", BATCH, False),
        (f"*.{SUFFIX}", BATCH, True),
        # A wildcard stands for at least one label: the suffix itself is not an identity under it.
        (f"*.shop.{SUFFIX}", f"shop.{SUFFIX}", False),
        # Suffixes match whole labels only.
        (f"*.hop.{SUFFIX}", WEB, False),
    ],
)
def test_identity_wildcards(pattern: str, client: str | None, allowed: bool) -> None:
    policy = compiled(
        server(),
        authz("a", {"kind": "Server", "name": "api-http"}, ("MeshTLSAuthentication", "m")),
        meshtls("m", pattern),
    )
    assert evaluate(policy, 8080, client, "10.42.0.7").allowed is allowed


@pytest.mark.parametrize(
    ("ip", "allowed"),
    [
        ("10.1.2.3", True),
        ("10.1.9.9", False),
        ("10.2.0.1", False),
        ("::ffff:10.1.2.3", True),
        ("fd00::1", True),
        ("junk", False),
    ],
)
def test_network_authentication_with_exceptions(ip: str, allowed: bool) -> None:
    policy = compiled(
        server(),
        authz("nets", {"kind": "Server", "name": "api-http"}, ("NetworkAuthentication", "n")),
        netauth("n", "10.1.0.0/16", "fd00::/8", excepts=("10.1.9.0/24",)),
    )
    assert evaluate(policy, 8080, None, ip).allowed is allowed


def test_all_required_authentications_must_hold() -> None:
    policy = compiled(
        server(),
        authz(
            "both",
            {"kind": "Server", "name": "api-http"},
            ("MeshTLSAuthentication", "m"),
            ("NetworkAuthentication", "n"),
        ),
        meshtls("m", WEB),
        netauth("n", "10.42.0.0/16"),
    )
    assert evaluate(policy, 8080, WEB, "10.42.1.1").allowed is True
    assert evaluate(policy, 8080, WEB, "192.0.2.1").allowed is False
    assert evaluate(policy, 8080, None, "10.42.1.1").allowed is False


def test_a_missing_authentication_denies_rather_than_allows() -> None:
    policy = compiled(
        server(), authz("typo", {"kind": "Server", "name": "api-http"}, ("MeshTLSAuthentication", "nope"))
    )
    assert policy.ports[0].authorizations[0].unresolved is True
    assert evaluate(policy, 8080, WEB, "10.42.0.7").allowed is False


def test_namespace_target_covers_every_server_of_the_namespace() -> None:
    policy = compiled(
        server(),
        server("api-admin", port=9000),
        authz("ns-wide", {"kind": "Namespace", "name": "shop"}, ("MeshTLSAuthentication", "m")),
        meshtls("m", "*"),
    )
    assert evaluate(policy, 8080, WEB, "10.0.0.1").allowed is True
    assert evaluate(policy, 9000, WEB, "10.0.0.1").allowed is True
    assert evaluate(policy, 9000, None, "10.0.0.1").allowed is False


def test_route_scoped_authorization_applies_per_request() -> None:
    route = _o(
        "HTTPRoute",
        "health",
        {
            "parentRefs": [{"kind": "Server", "group": "policy.meshfleet.io", "name": "api-http"}],
            "rules": [{"matches": [{"path": {"type": "PathPrefix", "value": "/healthz"}, "method": "GET"}]}],
        },
    )
    policy = compiled(
        server(),
        route,
        authz("probes", {"kind": "HTTPRoute", "name": "health"}, ("NetworkAuthentication", "any")),
        netauth("any", "0.0.0.0/0"),
    )
    conn = evaluate(policy, 8080, None, "192.0.2.1")
    assert (conn.allowed, conn.reason) == (True, "per-request")
    assert evaluate(policy, 8080, None, "192.0.2.1", RequestInfo("/healthz/live", "GET")).allowed is True
    assert evaluate(policy, 8080, None, "192.0.2.1", RequestInfo("/healthzz", "GET")).allowed is False
    assert evaluate(policy, 8080, None, "192.0.2.1", RequestInfo("/healthz", "POST")).allowed is False
    assert evaluate(policy, 8080, None, "192.0.2.1", RequestInfo("/orders", "GET")).reason == "unauthorized"


def test_servers_elsewhere_or_for_other_pods_do_not_apply() -> None:
    other_ns = _o("Server", "s", {"podSelector": {}, "port": 8080}, ns="other")
    other_pods = _o("Server", "t", {"podSelector": {"matchLabels": {"app": "web"}}, "port": 8080})
    unknown_port_name = server("u", port="grpc")
    assert compiled(other_ns, other_pods, unknown_port_name).ports == ()


def test_two_servers_on_one_port_first_by_name_wins() -> None:
    policy = compiled(
        server("b-server", port=8080, accessPolicy="deny"),
        server("a-server", port="http", accessPolicy="all-unauthenticated"),
    )
    assert [p.server for p in policy.ports] == ["shop/a-server"]
    assert evaluate(policy, 8080, None, "10.0.0.1").allowed is True


def test_opaque_ports_come_from_server_protocol() -> None:
    policy = compiled(server(proxyProtocol="opaque"), server("adm", port=9000, proxyProtocol="HTTP/1"))
    assert policy.opaque_ports() == frozenset({8080})
