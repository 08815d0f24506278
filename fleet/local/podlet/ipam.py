"""Pod IP allocation within a node's podCIDR (pure).

The first host address belongs to the bridge; pods get the others.  Freed
addresses go to the back of the line so a quickly recreated pod does not get
the IP a stale EndpointSlice may still list.
"""

from __future__ import annotations

import ipaddress
from collections import deque

from fleet.local.podlet.errors import NetworkError


class Ipam:
    def __init__(self, cidr: str, in_use: set[str] | None = None) -> None:
        net = ipaddress.IPv4Network(cidr)
        hosts = [str(h) for h in net.hosts()]
        if len(hosts) < 2:
            raise NetworkError(f"podCIDR {cidr} is too small for a bridge and a pod")
        self.cidr = cidr
        self.gateway = hosts[0]
        used = set(in_use or ())
        self._free: deque[str] = deque(h for h in hosts[1:] if h not in used)
        self._used: set[str] = {h for h in used if h in hosts[1:]}

    def allocate(self) -> str:
        if not self._free:
            raise NetworkError(f"no free pod IP left in {self.cidr}")
        ip = self._free.popleft()
        self._used.add(ip)
        return ip

    def release(self, ip: str) -> None:
        if ip in self._used:
            self._used.discard(ip)
            self._free.append(ip)

    @property
    def in_use(self) -> frozenset[str]:
        return frozenset(self._used)
