"""Compose one cluster's objects from the fleet configuration (pure).

The mesh defines its own components (``mesh.manifests``); this module maps
the fleet's typed configuration onto their parameters, adds what only the
fleet knows (which fleet a cluster belongs to, its links' networks and
gateways), and stamps every object with the cluster and revision.
"""

from __future__ import annotations

import json

from fleet.apply.plan import Obj, ordered, stamp
from fleet.config import ClusterConfig, FleetConfig
from mesh.manifests import ComponentResources, DemoParams, LinkTarget, MeshParams, demo, mesh_objects

FLEET_CONFIGMAP = "meshfleet-fleet"


def _target(peer: ClusterConfig) -> LinkTarget:
    return LinkTarget(
        name=peer.name,
        pod_cidr=str(peer.network.pod_cidr),
        service_cidr=str(peer.network.service_cidr),
        gateway_address=peer.network.gateway_address,
    )


def mesh_params(config: FleetConfig, cluster: ClusterConfig) -> MeshParams:
    """The mesh parameters of ``cluster``: its merged settings, networks and links."""
    s = cluster.settings
    return MeshParams(
        cluster_name=cluster.name,
        version=config.mesh.version,
        trust_bundle_pem=config.trust_bundle_pem,
        namespace=config.mesh.namespace,
        trust_domain=config.mesh.trust_domain,
        replicas=s.replicas,
        ha=s.ha,
        resources=ComponentResources(
            cpu_request=s.resources.requests.cpu,
            memory_request=s.resources.requests.memory,
            cpu_limit=s.resources.limits.cpu,
            memory_limit=s.resources.limits.memory,
        ),
        log_level=str(s.log_level),
        default_inbound_policy=str(s.default_inbound_policy),
        pod_cidr=str(cluster.network.pod_cidr),
        service_cidr=str(cluster.network.service_cidr),
        gateway_address=cluster.network.gateway_address,
        links=tuple(_target(config.cluster(name)) for name in cluster.links),
        linked_from=any(cluster.name in config.cluster(other).links for other in config.cluster_names),
    )


def fleet_objects(config: FleetConfig, cluster: ClusterConfig) -> list[Obj]:
    """What only the fleet knows, for components that need it (the service mirror, the dashboard)."""
    membership = {
        "fleet": config.name,
        "cluster": cluster.name,
        "clusters": list(config.cluster_names),
        "links": list(cluster.links),
        "meshVersion": config.mesh.version,
        "trustDomain": config.mesh.trust_domain,
    }
    return [{
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": FLEET_CONFIGMAP,
            "namespace": config.mesh.namespace,
            "labels": {"app.kubernetes.io/part-of": "meshfleet", "app.kubernetes.io/name": "fleet"},
        },
        "data": {"fleet.json": json.dumps(membership, indent=2, sort_keys=True) + "\n"},
    }]


def demo_enabled(cluster: ClusterConfig) -> bool:
    """Whether the cluster's settings ask for the demo namespace (``demo``: fleet defaults or cluster overrides)."""
    return cluster.settings.demo


def demo_objects(config: FleetConfig, cluster: ClusterConfig) -> list[Obj]:
    """The meshed demo namespace (web -> api -> backend, a load generator), at the mesh's version and bundle."""
    return demo(DemoParams(version=config.mesh.version, trust_bundle_pem=config.trust_bundle_pem,
                           linked=cluster.links))


def render_cluster(config: FleetConfig, name: str, revision: str) -> list[Obj]:
    """Every object ``name`` should hold at ``revision``, stamped and in apply order.

    KeyError when the fleet has no such cluster.  Issuer and webhook key
    material is never part of the result (see ``fleet.reconcile`` secrets).
    """
    cluster = config.cluster(name)
    objects = mesh_objects(mesh_params(config, cluster)) + fleet_objects(config, cluster)
    if demo_enabled(cluster):
        objects += demo_objects(config, cluster)
    return ordered(stamp(obj, cluster.name, revision) for obj in objects)


def render_fleet(config: FleetConfig, revision: str) -> dict[str, list[Obj]]:
    """``render_cluster`` for every cluster of the fleet, by name."""
    return {name: render_cluster(config, name, revision) for name in config.cluster_names}
