"""The typed, validated fleet configuration the renderer consumes.

Every value here is frozen: a ``FleetConfig`` describes one revision of the
fleet repository and never changes.  Cluster settings are already merged
(built-in defaults, then fleet defaults, then the cluster's overrides), so a
consumer reads ``cluster.settings`` and never repeats the merge.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum

from cryptography import x509

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class LogLevel(StrEnum):
    ERROR = "error"
    WARN = "warn"
    INFO = "info"
    DEBUG = "debug"
    TRACE = "trace"


class InboundPolicy(StrEnum):
    """What a proxy admits on a port no Server or AuthorizationPolicy selects."""

    ALL_UNAUTHENTICATED = "all-unauthenticated"
    ALL_AUTHENTICATED = "all-authenticated"
    CLUSTER_AUTHENTICATED = "cluster-authenticated"
    DENY = "deny"
    AUDIT = "audit"


class DriftMode(StrEnum):
    """``correct`` puts drifted objects back; ``report`` only reports them."""

    CORRECT = "correct"
    REPORT = "report"


@dataclass(frozen=True, slots=True)
class ResourceAmounts:
    """Kubernetes quantities as written (``100m``, ``128Mi``); None leaves the amount unset."""

    cpu: str | None = None
    memory: str | None = None


@dataclass(frozen=True, slots=True)
class Resources:
    requests: ResourceAmounts = ResourceAmounts()
    limits: ResourceAmounts = ResourceAmounts()


@dataclass(frozen=True, slots=True)
class Settings:
    """Effective mesh settings of one cluster (or the fleet defaults)."""

    replicas: int = 1
    ha: bool = False
    demo: bool = False  # the meshed demo namespace (mesh.manifests.demo)
    resources: Resources = Resources(
        requests=ResourceAmounts(cpu="100m", memory="64Mi"),
        limits=ResourceAmounts(memory="256Mi"),
    )
    log_level: LogLevel = LogLevel.INFO
    default_inbound_policy: InboundPolicy = InboundPolicy.ALL_UNAUTHENTICATED
    drift: DriftMode = DriftMode.CORRECT


BUILTIN_SETTINGS = Settings()


@dataclass(frozen=True, slots=True)
class Network:
    pod_cidr: IPNetwork
    service_cidr: IPNetwork
    gateway_address: str | None = None


@dataclass(frozen=True, slots=True)
class ClusterConfig:
    """One cluster: how to reach it, its network, its links and its effective settings."""

    name: str
    file: str
    kubeconfig_context: str
    network: Network
    links: tuple[str, ...] = ()
    prometheus: str | None = None
    settings: Settings = BUILTIN_SETTINGS


@dataclass(frozen=True, slots=True)
class Wave:
    """Clusters that roll out together; the next wave waits until all are Ready or ``timeout`` passes."""

    clusters: tuple[str, ...]
    timeout: timedelta


DEFAULT_TRUST_DOMAIN = "cluster.local"
DEFAULT_MESH_NAMESPACE = "meshfleet"


@dataclass(frozen=True, slots=True)
class MeshSettings:
    version: str
    trust_domain: str = DEFAULT_TRUST_DOMAIN
    namespace: str = DEFAULT_MESH_NAMESPACE


@dataclass(frozen=True, slots=True)
class TrustAnchor:
    """A public CA certificate from ``trust-anchors/``; ``pem`` is its block exactly as committed."""

    file: str
    certificate: x509.Certificate = field(compare=False)
    pem: bytes


@dataclass(frozen=True, slots=True)
class FleetConfig:
    """One valid revision of the fleet repository."""

    name: str
    mesh: MeshSettings
    defaults: Settings
    waves: tuple[Wave, ...]
    clusters: tuple[ClusterConfig, ...]
    trust_anchors: tuple[TrustAnchor, ...]

    @property
    def cluster_names(self) -> tuple[str, ...]:
        return tuple(cluster.name for cluster in self.clusters)

    def cluster(self, name: str) -> ClusterConfig:
        """The cluster called ``name``; KeyError when the fleet has none."""
        for cluster in self.clusters:
            if cluster.name == name:
                return cluster
        raise KeyError(name)

    @property
    def trust_bundle_pem(self) -> bytes:
        """Every anchor, concatenated: the bundle proxies and issuers trust."""
        return b"".join(anchor.pem for anchor in self.trust_anchors)
