"""Render the fleet, one cluster at a time: ``FleetConfig`` in, stamped Kubernetes objects out.  Pure.

``render_cluster(config, name, revision)`` composes the mesh's own component
definitions (``mesh.manifests``) with the cluster's settings, adds the
fleet-level objects, labels every object as managed by meshfleet for that
cluster, annotates it with the revision and a content hash, and returns it
in apply order; with the ``demo`` setting, the meshed demo namespace
(``demo_objects``) too.  ``to_yaml_stream`` writes the same objects as stable YAML.
Private keys are never part of the output.
"""

from fleet.render._compose import (
    FLEET_CONFIGMAP,
    demo_enabled,
    demo_objects,
    fleet_objects,
    mesh_params,
    render_cluster,
    render_fleet,
)
from fleet.render._yaml import to_yaml, to_yaml_stream

__all__ = [
    "FLEET_CONFIGMAP",
    "demo_enabled",
    "demo_objects",
    "fleet_objects",
    "mesh_params",
    "render_cluster",
    "render_fleet",
    "to_yaml",
    "to_yaml_stream",
]
