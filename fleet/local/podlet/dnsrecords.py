"""Which addresses a cluster name stands for (pure).

``<svc>.<ns>.svc.cluster.local`` resolves to the Service's ClusterIP, or for a
headless Service to its ready endpoint addresses.  Pods find short names
(``svc`` or ``svc.ns``) through the search path in their resolv.conf.
"""

from __future__ import annotations

from dataclasses import dataclass

from fleet.local.podlet.dnswire import RCODE_NXDOMAIN, RCODE_OK

CLUSTER_DOMAIN = "cluster.local"


@dataclass(frozen=True, slots=True)
class Answer:
    rcode: int
    addresses: tuple[str, ...]


class Records:
    def __init__(self, domain: str = CLUSTER_DOMAIN) -> None:
        self.domain = domain
        self._names: dict[str, tuple[str, ...]] = {}

    def replace(self, names: dict[str, tuple[str, ...]]) -> None:
        self._names = dict(names)

    def service_name(self, namespace: str, service: str) -> str:
        return f"{service}.{namespace}.svc.{self.domain}"

    def lookup(self, name: str) -> Answer:
        name = name.lower().rstrip(".")
        found = self._names.get(name)
        if found is not None:
            return Answer(RCODE_OK, found)
        return Answer(RCODE_NXDOMAIN, ())


def build(services: list[dict[str, object]], headless_ready: dict[tuple[str, str], list[str]],
          domain: str = CLUSTER_DOMAIN) -> dict[str, tuple[str, ...]]:
    """Name -> addresses for every Service; ``headless_ready`` maps (ns, name) to ready endpoint IPs."""
    out: dict[str, tuple[str, ...]] = {}
    for svc in services:
        meta, spec = svc.get("metadata"), svc.get("spec")
        if not isinstance(meta, dict) or not isinstance(spec, dict):
            continue
        ns, name = str(meta.get("namespace")), str(meta.get("name"))
        key = f"{name}.{ns}.svc.{domain}"
        ip = spec.get("clusterIP")
        if isinstance(ip, str) and ip not in ("", "None"):
            out[key] = (ip,)
        else:
            out[key] = tuple(sorted(headless_ready.get((ns, name), [])))
    return out


def resolv_conf(namespace: str, nameserver: str, domain: str = CLUSTER_DOMAIN) -> str:
    return (f"search {namespace}.svc.{domain} svc.{domain} {domain}\n"
            f"nameserver {nameserver}\n"
            "options ndots:5\n")
