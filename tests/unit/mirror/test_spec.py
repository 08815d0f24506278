"""Reading Link objects: what the rendered Link becomes, and bad specs named by Link and field."""

from __future__ import annotations

from typing import Any

import pytest

from mesh.control.mirror import EXPORT_LABEL, LinkSpec, parse_link
from mesh.control.mirror._spec import EXPORTED
from mesh.control.mirror.errors import InvalidLink
from mesh.manifests import LinkTarget, MeshParams, link

Obj = dict[str, Any]


def a_link(**spec: Any) -> Obj:
    base: Obj = {
        "targetClusterName": "beta",
        "targetClusterDomain": "cluster.local",
        "gatewayPort": 4143,
        "gatewayIdentity": "gateway.meshfleet.serviceaccount.identity.meshfleet.cluster.local",
        "selector": {"matchLabels": {EXPORT_LABEL: "true"}},
    }
    base.update(spec)
    return {"apiVersion": "multicluster.meshfleet.io/v1alpha1", "kind": "Link",
            "metadata": {"name": "beta", "namespace": "meshfleet"},
            "spec": {k: v for k, v in base.items() if v is not None}}


def test_the_link_the_mesh_renders_is_read_as_it_was_written() -> None:
    params = MeshParams(cluster_name="alpha", version="0.1.0", trust_bundle_pem=b"pem",
                        links=(LinkTarget("beta", "10.2.0.0/16", "10.3.0.0/16", gateway_address="192.0.2.9"),))
    rendered = link(params, params.links[0])
    rendered["metadata"].setdefault("namespace", "meshfleet")
    spec = parse_link(rendered)
    assert spec.name == "meshfleet/beta"
    assert spec.target_cluster == "beta"
    assert spec.target_domain == "cluster.local"
    assert spec.gateway_identity == params.identity_name("gateway")
    assert spec.gateway_ip == "192.0.2.9"
    assert spec.gateway_hostname is None
    assert spec.selector.matches({EXPORT_LABEL: "true"})
    assert not spec.selector.matches({EXPORT_LABEL: "false"})
    assert not spec.selector.matches({})


def test_a_dns_gateway_address_is_left_for_the_shell_to_resolve() -> None:
    spec = parse_link(a_link(gatewayAddress="gw.beta.example.com"))
    assert spec.gateway_ip is None
    assert spec.gateway_hostname == "gw.beta.example.com"


def test_without_a_selector_the_export_label_is_what_counts() -> None:
    spec = parse_link(a_link(selector=None))
    assert spec.selector == EXPORTED
    assert spec.selector.matches({EXPORT_LABEL: "true", "app": "x"})
    assert not spec.selector.matches({"app": "x"})


def test_match_expressions_follow_kubernetes_meaning() -> None:
    spec = parse_link(a_link(selector={"matchExpressions": [
        {"key": "tier", "operator": "In", "values": ["web", "api"]},
        {"key": "internal", "operator": "DoesNotExist"},
        {"key": "env", "operator": "NotIn", "values": ["dev"]},
        {"key": "team", "operator": "Exists"},
    ]}))
    assert spec.selector.matches({"tier": "web", "team": "a"})
    assert spec.selector.matches({"tier": "api", "team": "a", "env": "prod"})
    assert not spec.selector.matches({"tier": "db", "team": "a"})
    assert not spec.selector.matches({"tier": "web", "team": "a", "internal": "yes"})
    assert not spec.selector.matches({"tier": "web", "team": "a", "env": "dev"})
    assert not spec.selector.matches({"tier": "web"})


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        ({"targetClusterName": None}, "spec.targetClusterName"),
        ({"targetClusterName": "Beta_1"}, "spec.targetClusterName"),
        ({"targetClusterName": "b" * 64}, "spec.targetClusterName"),
        ({"targetClusterDomain": None}, "spec.targetClusterDomain"),
        ({"targetClusterDomain": "bad domain"}, "spec.targetClusterDomain"),
        ({"gatewayPort": None}, "spec.gatewayPort"),
        ({"gatewayPort": 0}, "spec.gatewayPort"),
        ({"gatewayPort": 70000}, "spec.gatewayPort"),
        ({"gatewayPort": "4143"}, "spec.gatewayPort"),
        ({"gatewayPort": True}, "spec.gatewayPort"),
        ({"gatewayIdentity": None}, "spec.gatewayIdentity"),
        ({"gatewayIdentity": 7}, "spec.gatewayIdentity"),
        ({"gatewayAddress": "not an address!"}, "spec.gatewayAddress"),
        ({"gatewayAddress": "fd00::7"}, "spec.gatewayAddress"),
        ({"selector": {}}, "spec.selector"),
        ({"selector": "exported"}, "spec.selector"),
        ({"selector": {"matchLabels": {"a": 1}}}, "spec.selector.matchLabels"),
        ({"selector": {"matchExpressions": [{"key": "a", "operator": "Near"}]}},
         "spec.selector.matchExpressions[0].operator"),
        ({"selector": {"matchExpressions": [{"key": "a", "operator": "In"}]}},
         "spec.selector.matchExpressions[0].values"),
        ({"selector": {"matchExpressions": [{"key": "a", "operator": "Exists", "values": ["x"]}]}},
         "spec.selector.matchExpressions[0].values"),
    ],
)
def test_a_bad_link_spec_is_refused_naming_the_link_and_the_field(spec: Obj, field: str) -> None:
    with pytest.raises(InvalidLink) as info:
        parse_link(a_link(**spec))
    assert info.value.link == "meshfleet/beta"
    assert info.value.field == field
    assert str(info.value).startswith(f"Link meshfleet/beta: {field}: ")


def test_a_link_without_spec_is_refused() -> None:
    with pytest.raises(InvalidLink, match=r"Link meshfleet/beta: spec: is missing"):
        parse_link({"metadata": {"name": "beta", "namespace": "meshfleet"}})


def test_a_trailing_dot_on_the_domain_is_dropped() -> None:
    assert parse_link(a_link(targetClusterDomain="beta.local.")).target_domain == "beta.local"


def test_specs_compare_by_value() -> None:
    assert parse_link(a_link()) == parse_link(a_link())
    assert isinstance(parse_link(a_link()), LinkSpec)
