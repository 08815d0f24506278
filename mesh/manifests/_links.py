"""Link objects: one per cluster this one links to, read by the service mirror."""

from __future__ import annotations

from mesh import wellknown
from mesh.manifests._crds import MULTICLUSTER_GROUP, VERSION
from mesh.manifests._meta import Obj, metadata
from mesh.manifests._params import LinkTarget, MeshParams

EXPORT_LABEL = wellknown.EXPORT_LABEL


def link(p: MeshParams, target: LinkTarget) -> Obj:
    spec: Obj = {
        "targetClusterName": target.name,
        "targetClusterDomain": "cluster.local",
        "gatewayPort": target.gateway_port,
        # The remote gateway proves this identity; the trust domain is fleet-wide.
        "gatewayIdentity": p.identity_name("gateway"),
        "podCIDR": target.pod_cidr,
        "serviceCIDR": target.service_cidr,
        "selector": {"matchLabels": {EXPORT_LABEL: "true"}},
    }
    if target.gateway_address:
        spec["gatewayAddress"] = target.gateway_address
    return {"apiVersion": f"{MULTICLUSTER_GROUP}/{VERSION}", "kind": "Link",
            "metadata": metadata(target.name, p, "link"), "spec": spec}
