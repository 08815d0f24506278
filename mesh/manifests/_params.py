"""What one cluster's mesh is rendered from: plain values, no knowledge of fleets or Git.

The fleet manager builds a :class:`MeshParams` per cluster from its own
configuration; anything else that deploys the mesh (a test, a script) can
build one by hand.  Every field is a value, so rendering is a pure function.
"""

from __future__ import annotations

from dataclasses import dataclass

IMAGE_REPOSITORY = "ghcr.io/meshfleet/meshfleet"

# Ports every component and proxy agree on; the proxy's match Linkerd's so existing tooling works.
IDENTITY_PORT = 8080
DESTINATION_PORT = 8086
INJECTOR_PORT = 8443
PROXY_INBOUND_PORT = 4143
PROXY_OUTBOUND_PORT = 4140
PROXY_ADMIN_PORT = 4191
MESH_NAMESPACE = "meshfleet"  # where the control plane runs, unless a cluster says otherwise
GATEWAY_PORT = 4143
ADMIN_PORTS = {"identity": 9990, "destination": 9996, "injector": 9995}
PROXY_UID = 2102


@dataclass(frozen=True, slots=True)
class ComponentResources:
    """Kubernetes quantities as written (``100m``, ``64Mi``); None leaves the amount unset."""

    cpu_request: str | None = "100m"
    memory_request: str | None = "64Mi"
    cpu_limit: str | None = None
    memory_limit: str | None = "256Mi"


@dataclass(frozen=True, slots=True)
class LinkTarget:
    """Another cluster this one links to: where its gateway is and which networks it owns."""

    name: str
    pod_cidr: str
    service_cidr: str
    gateway_address: str | None = None
    gateway_port: int = GATEWAY_PORT


@dataclass(frozen=True, slots=True)
class MeshParams:
    """Everything that varies between two clusters' meshes."""

    cluster_name: str
    version: str
    trust_bundle_pem: bytes
    namespace: str = MESH_NAMESPACE
    trust_domain: str = "cluster.local"
    replicas: int = 1
    ha: bool = False
    resources: ComponentResources = ComponentResources()
    log_level: str = "info"
    default_inbound_policy: str = "all-unauthenticated"
    pod_cidr: str = ""
    service_cidr: str = ""
    gateway_address: str | None = None
    links: tuple[LinkTarget, ...] = ()
    linked_from: bool = False  # another cluster mirrors this one's services: it needs a gateway

    def __post_init__(self) -> None:
        if not self.trust_bundle_pem.strip():
            raise ValueError("a mesh needs a trust bundle: trust_bundle_pem is empty")
        if self.replicas < 1:
            raise ValueError(f"replicas must be at least 1, not {self.replicas}")

    @property
    def image(self) -> str:
        return f"{IMAGE_REPOSITORY}:{self.version}"

    def service_host(self, component: str) -> str:
        """The in-cluster DNS name of a component's Service."""
        return f"{component}.{self.namespace}.svc.cluster.local"

    def identity_name(self, service_account: str) -> str:
        """The mesh identity of a ServiceAccount of the mesh namespace (see mesh.pki naming)."""
        return (
            f"{service_account}.{self.namespace}.serviceaccount.identity.{self.namespace}.{self.trust_domain}"
        )
