"""Names and addresses of one node's pod network (pure).

Names are derived from the node's podCIDR and the pod's UID so that two
podlets on one machine never pick the same bridge, chain or namespace, and a
restarted podlet finds exactly what its predecessor created.  Interface names
stay within the kernel's 15 characters and chain names within iptables' 28.
"""

from __future__ import annotations

import hashlib
import ipaddress
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class NodeNetwork:
    pod_cidr: str  # the node's /24 (or any size) from the controller-manager

    @property
    def network(self) -> ipaddress.IPv4Network:
        return ipaddress.IPv4Network(self.pod_cidr)

    @property
    def gateway(self) -> str:
        """The bridge's address: the first host of the podCIDR, also the pods' DNS server."""
        return str(self.network[1])

    @property
    def tag(self) -> str:
        """Second and third octet of the podCIDR, e.g. ``100-0`` for 10.100.0.0/24."""
        octets = str(self.network.network_address).split(".")
        return f"{octets[1]}-{octets[2]}"

    @property
    def bridge(self) -> str:
        return f"mfbr-{self.tag}"

    @property
    def chain_prefix(self) -> str:
        return f"MF-{self.tag}"

    @property
    def lock_name(self) -> str:
        return f"podnet-{self.tag}.lock"


def short_hash(text: str, length: int = 10) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:length]


def netns_name(pod_uid: str) -> str:
    return f"mfpod-{pod_uid.replace('-', '')[:16]}"


def host_veth(pod_uid: str) -> str:
    return f"mfv{short_hash(pod_uid, 11)}"
