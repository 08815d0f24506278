"""Names, address ranges and ports of local clusters (pure).

Cluster *i* of the local fleet gets the pod range ``10.<100+i>.0.0/16`` and the
service range ``10.<200+i>.0.0/16``, so no two local clusters overlap and
linked clusters can route to each other's pods.  The example fleet in this
repository describes exactly these clusters.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

DEFAULT_NAMES = ("east", "west", "north", "south", "central")
MAX_CLUSTERS = 50
# The controller-manager hands each node a /24 of the cluster's /16: far more than a 2-core machine runs.
MAX_NODES = 16
_NAME = re.compile(r"^[a-z]([a-z0-9-]{0,30}[a-z0-9])?$")


class TopologyError(ValueError):
    """A cluster count or name that cannot make a local fleet."""


@dataclass(frozen=True, slots=True)
class Ports:
    etcd_client: int
    etcd_peer: int
    apiserver: int
    controller_manager: int
    scheduler: int

    def all(self) -> tuple[int, ...]:
        return (self.etcd_client, self.etcd_peer, self.apiserver, self.controller_manager, self.scheduler)


@dataclass(frozen=True, slots=True)
class ClusterPlan:
    """Everything about a local cluster that is decided before anything starts."""

    name: str
    index: int

    @property
    def context(self) -> str:
        return context_name(self.name)

    @property
    def pod_cidr(self) -> str:
        return f"10.{100 + self.index}.0.0/16"

    @property
    def service_cidr(self) -> str:
        return f"10.{200 + self.index}.0.0/16"

    @property
    def kubernetes_service_ip(self) -> str:
        """The first address of the service range, which the apiserver reserves for itself."""
        return str(ipaddress.ip_network(self.service_cidr)[1])

    def node_names(self, count: int) -> tuple[str, ...]:
        return tuple(node_name(self.name, i) for i in range(1, count + 1))


def node_name(cluster: str, index: int) -> str:
    """The Node of the ``index``-th podlet of a cluster (from 1)."""
    return f"{cluster}-node-{index}"


def podlet_component(node: str) -> str:
    """How the fleet record (and ``local status``) names the podlet process of a node."""
    return f"podlet-{node}"


def context_name(cluster: str) -> str:
    return f"meshfleet-{cluster}"


def parse_count(text: str) -> int:
    """The value of ``--clusters``: a whole number from 1 to MAX_CLUSTERS."""
    try:
        n = int(text, 10)
    except ValueError:
        raise TopologyError(f"--clusters must be a whole number, not {text!r}") from None
    if n < 1:
        raise TopologyError(f"--clusters must be at least 1, not {n}")
    if n > MAX_CLUSTERS:
        raise TopologyError(f"--clusters can be at most {MAX_CLUSTERS}, not {n}")
    return n


def parse_nodes(text: str) -> int:
    """The value of ``--nodes``: podlets per cluster, a whole number from 1 to MAX_NODES."""
    try:
        n = int(text, 10)
    except ValueError:
        raise TopologyError(f"--nodes must be a whole number, not {text!r}") from None
    if not 1 <= n <= MAX_NODES:
        raise TopologyError(f"--nodes must be from 1 to {MAX_NODES}, not {n}")
    return n


def default_names(count: int) -> tuple[str, ...]:
    extra = tuple(f"cluster-{i + 1}" for i in range(len(DEFAULT_NAMES), count))
    return (DEFAULT_NAMES + extra)[:count]


def plan(names: tuple[str, ...]) -> tuple[ClusterPlan, ...]:
    seen: set[str] = set()
    for name in names:
        if not _NAME.match(name):
            raise TopologyError(
                f"cluster name {name!r} must be lower-case letters, digits and '-', start with a letter, "
                "and be at most 32 characters"
            )
        if name in seen:
            raise TopologyError(f"cluster name {name!r} is given twice")
        seen.add(name)
    if len(names) > MAX_CLUSTERS:
        raise TopologyError(f"a local fleet has at most {MAX_CLUSTERS} clusters, not {len(names)}")
    return tuple(ClusterPlan(name=n, index=i) for i, n in enumerate(names))
