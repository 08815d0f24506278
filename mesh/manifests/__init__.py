"""How the mesh is deployed: its Kubernetes objects as pure functions of :class:`MeshParams`.

``mesh_objects(params)`` returns every object of one cluster's mesh as plain
dicts, in no particular order (whoever applies them orders them).  Nothing
here knows about fleets, Git or revisions: ``fleet.render`` builds the
parameters per cluster and stamps the objects.

Two Secrets are referenced but never rendered, because they hold private
keys: ``identity-issuer`` (``tls.crt``, ``tls.key``, ``ca.crt``: the
cluster's issuer) and ``injector-tls`` (``tls.crt``, ``tls.key``: the
webhook's serving certificate, chained to the trust anchors the webhook's
``caBundle`` holds).  Whoever deploys the mesh creates them in the cluster.
"""

from mesh.manifests._components import destination, disruption_budget, gateway, identity, injector
from mesh.manifests._config import WEBHOOK_CONFIGURATION, namespace, proxy_config, proxy_settings, trust_bundle, webhook
from mesh.manifests._crds import MULTICLUSTER_GROUP, POLICY_GROUP, crds
from mesh.manifests._demo import DEMO_NAMESPACE, DemoParams, demo
from mesh.manifests._links import link
from mesh.manifests._meta import (
    INJECTOR_TLS_SECRET,
    ISSUER_SECRET,
    PROXY_CONFIGMAP,
    TRUST_BUNDLE_CONFIGMAP,
    TRUST_BUNDLE_KEY,
    Obj,
)
from mesh.manifests._params import (
    ADMIN_PORTS,
    GATEWAY_PORT,
    IMAGE_REPOSITORY,
    MESH_NAMESPACE,
    PROXY_ADMIN_PORT,
    ComponentResources,
    LinkTarget,
    MeshParams,
)
from mesh.manifests._rbac import rbac


def control_plane(p: MeshParams) -> list[Obj]:
    """The workloads and their Services, with a PodDisruptionBudget each when HA."""
    objects = [*identity(p), *destination(p), *injector(p)]
    if p.ha:
        objects += [disruption_budget(p, name) for name in ("identity", "destination", "injector")]
    return objects


def mesh_objects(p: MeshParams) -> list[Obj]:
    """Every object of one cluster's mesh.

    The gateway only where another cluster links to this one (it receives
    their traffic); a Link per cluster this one links to (its mirror reads them).
    """
    objects = [namespace(p), *crds(p), *rbac(p), proxy_config(p), trust_bundle(p), *control_plane(p), webhook(p)]
    if p.linked_from:
        objects += gateway(p)
        if p.ha:
            objects.append(disruption_budget(p, "gateway"))
    objects += [link(p, target) for target in p.links]
    return objects


__all__ = [
    "MESH_NAMESPACE",
    "ADMIN_PORTS",
    "PROXY_ADMIN_PORT",
    "DEMO_NAMESPACE",
    "DemoParams",
    "demo",
    "GATEWAY_PORT",
    "IMAGE_REPOSITORY",
    "INJECTOR_TLS_SECRET",
    "ISSUER_SECRET",
    "MULTICLUSTER_GROUP",
    "POLICY_GROUP",
    "PROXY_CONFIGMAP",
    "TRUST_BUNDLE_CONFIGMAP",
    "TRUST_BUNDLE_KEY",
    "WEBHOOK_CONFIGURATION",
    "ComponentResources",
    "LinkTarget",
    "MeshParams",
    "Obj",
    "control_plane",
    "crds",
    "destination",
    "gateway",
    "identity",
    "injector",
    "link",
    "mesh_objects",
    "namespace",
    "proxy_config",
    "proxy_settings",
    "rbac",
    "trust_bundle",
    "webhook",
]
