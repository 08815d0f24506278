"""What a platform engineer expects of the rendered mesh, checked object by object."""

from __future__ import annotations

import base64
import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from render_support import NOW, REVISION, example_fleet

from fleet.apply.plan import (
    CLUSTER_LABEL,
    HASH_ANNOTATION,
    MANAGED_BY,
    MANAGED_BY_LABEL,
    REVISION_ANNOTATION,
    content_hash,
    ordered,
)
from fleet.config import DirectoryTree, FleetConfig, Settings, load_fleet
from fleet.render import render_cluster, render_fleet, to_yaml_stream

Obj = dict[str, Any]


@pytest.fixture
def config(tmp_path: Path) -> FleetConfig:
    return example_fleet(tmp_path / "fleet")


def _by_kind(objects: list[Obj], kind: str) -> dict[str, Obj]:
    return {o["metadata"]["name"]: o for o in objects if o["kind"] == kind}


def test_rendering_twice_gives_identical_bytes(config: FleetConfig) -> None:
    first = to_yaml_stream(render_cluster(config, "east", REVISION))
    second = to_yaml_stream(render_cluster(config, "east", REVISION))
    assert first == second


def test_every_object_is_stamped_with_cluster_revision_and_its_own_hash(config: FleetConfig) -> None:
    for cluster, objects in render_fleet(config, REVISION).items():
        for obj in objects:
            meta = obj["metadata"]
            assert meta["labels"][MANAGED_BY_LABEL] == MANAGED_BY
            assert meta["labels"][CLUSTER_LABEL] == cluster
            assert meta["annotations"][REVISION_ANNOTATION] == REVISION
            assert meta["annotations"][HASH_ANNOTATION] == content_hash(obj)


def test_objects_come_in_apply_order(config: FleetConfig) -> None:
    objects = render_cluster(config, "west", REVISION)
    assert objects == ordered(objects)
    assert objects[0]["kind"] == "CustomResourceDefinition"
    assert objects[-1]["kind"] == "MutatingWebhookConfiguration"


def test_crds_cover_policy_and_multicluster_apis_with_schemas(config: FleetConfig) -> None:
    crds = _by_kind(render_cluster(config, "north", REVISION), "CustomResourceDefinition")
    assert set(crds) == {
        "servers.policy.meshfleet.io", "authorizationpolicies.policy.meshfleet.io",
        "meshtlsauthentications.policy.meshfleet.io", "networkauthentications.policy.meshfleet.io",
        "httproutes.policy.meshfleet.io", "links.multicluster.meshfleet.io",
    }
    for crd in crds.values():
        (version,) = crd["spec"]["versions"]
        schema = version["schema"]["openAPIV3Schema"]
        assert schema["required"] == ["spec"]
        assert schema["properties"]["spec"]["type"] == "object"
        assert schema["properties"]["spec"]["properties"]


def test_components_run_our_image_at_the_mesh_version_with_their_subcommand(config: FleetConfig) -> None:
    deployments = {name: dep for name, dep in _by_kind(render_cluster(config, "north", REVISION), "Deployment").items()
                   if dep["metadata"]["namespace"] == config.mesh.namespace}
    assert set(deployments) == {"identity", "destination", "injector"}
    for name, dep in deployments.items():
        (container,) = dep["spec"]["template"]["spec"]["containers"]
        assert container["image"] == f"ghcr.io/meshfleet/meshfleet:{config.mesh.version}"
        assert container["args"][0] == name
        assert dep["metadata"]["namespace"] == "meshfleet"
        assert dep["spec"]["replicas"] == 1
    services = {name for name, svc in _by_kind(render_cluster(config, "north", REVISION), "Service").items()
                if svc["metadata"]["namespace"] == config.mesh.namespace}
    assert services == {"identity", "destination", "injector"}


def test_gateway_and_links_only_for_linked_clusters(config: FleetConfig) -> None:
    north = render_cluster(config, "north", REVISION)
    east = render_cluster(config, "east", REVISION)
    assert "gateway" not in _by_kind(north, "Deployment")
    assert not _by_kind(north, "Link")
    assert "gateway" in _by_kind(east, "Deployment")
    assert "gateway" in _by_kind(east, "Service")
    (link,) = _by_kind(east, "Link").values()
    west = config.cluster("west")
    assert link["metadata"]["name"] == "west"
    assert link["spec"]["targetClusterName"] == "west"
    assert link["spec"]["podCIDR"] == str(west.network.pod_cidr)
    assert link["spec"]["serviceCIDR"] == str(west.network.service_cidr)


def test_the_gateway_goes_where_traffic_arrives_and_the_link_where_it_leaves(tmp_path: Path) -> None:
    root = tmp_path / "one-way"
    example_fleet(root)
    for name, links in (("east", ["west"]), ("west", [])):
        path = root / "clusters" / f"{name}.yaml"
        doc = yaml.safe_load(path.read_text())
        doc["spec"]["links"] = links
        path.write_text(yaml.safe_dump(doc))
    one_way = load_fleet(DirectoryTree(root), now=NOW)
    east, west = render_cluster(one_way, "east", REVISION), render_cluster(one_way, "west", REVISION)
    # East mirrors west's services: east holds the Link, west the gateway east's proxies dial.
    assert "gateway" not in _by_kind(east, "Deployment")
    assert list(_by_kind(east, "Link")) == ["west"]
    assert "gateway" in _by_kind(west, "Deployment")
    assert not _by_kind(west, "Link")
    # The demo's load generator in east also calls west's exported backend, through its mirror.
    loadgen = _by_kind(east, "Deployment")["loadgen"]["spec"]["template"]["spec"]["containers"][0]["args"]
    assert "--downstream=http://backend-west.demo.svc.cluster.local:8080/" in loadgen
    west_loadgen = _by_kind(west, "Deployment")["loadgen"]["spec"]["template"]["spec"]["containers"][0]["args"]
    assert not [a for a in west_loadgen if "backend-" in a]


def test_trust_bundle_and_webhook_ca_are_the_committed_anchors(config: FleetConfig) -> None:
    objects = render_cluster(config, "east", REVISION)
    bundle = _by_kind(objects, "ConfigMap")["trust-anchors"]["data"]["ca-bundle.crt"]
    assert bundle.encode() == config.trust_bundle_pem
    (hook,) = _by_kind(objects, "MutatingWebhookConfiguration")["meshfleet-proxy-injector"]["webhooks"]
    assert base64.b64decode(hook["clientConfig"]["caBundle"]) == config.trust_bundle_pem
    assert hook["clientConfig"]["service"] == {"name": "injector", "namespace": "meshfleet",
                                               "path": "/inject", "port": 443}


def test_proxy_config_names_the_control_plane_and_the_cluster_networks(config: FleetConfig) -> None:
    cm = _by_kind(render_cluster(config, "west", REVISION), "ConfigMap")["proxy-config"]
    settings = json.loads(cm["data"]["config.json"])
    assert settings["identityAddress"] == "identity.meshfleet.svc.cluster.local:8080"
    assert settings["destinationAddress"] == "destination.meshfleet.svc.cluster.local:8086"
    assert settings["clusterNetworks"] == ["10.101.0.0/16", "10.201.0.0/16"]
    assert settings["defaultInboundPolicy"] == "all-unauthenticated"


def test_ha_settings_scale_components_and_add_disruption_budgets(config: FleetConfig) -> None:
    ha = Settings(replicas=3, ha=True)
    clusters = tuple(dataclasses.replace(c, settings=ha) if c.name == "east" else c for c in config.clusters)
    objects = render_cluster(dataclasses.replace(config, clusters=clusters), "east", REVISION)
    assert {d["spec"]["replicas"] for d in _by_kind(objects, "Deployment").values()} == {3}
    assert set(_by_kind(objects, "PodDisruptionBudget")) == {"identity", "destination", "injector", "gateway"}
    assert set(_by_kind(render_cluster(config, "west", REVISION), "PodDisruptionBudget")) == set()


def test_no_private_key_and_no_secret_is_ever_rendered(config: FleetConfig) -> None:
    for objects in render_fleet(config, REVISION).values():
        assert "PRIVATE KEY" not in to_yaml_stream(objects)
        assert not _by_kind(objects, "Secret")


def test_unknown_cluster_is_a_key_error(config: FleetConfig) -> None:
    with pytest.raises(KeyError):
        render_cluster(config, "south", REVISION)
