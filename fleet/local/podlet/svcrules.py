"""iptables rules for ClusterIP Services, in the shape of kube-proxy's iptables mode (pure).

One chain per node (``MF-<tag>-SVC``) matches each ClusterIP:port and jumps to a
per-service-port chain, which picks a ready endpoint with the ``statistic``
match (probability 1/n, 1/(n-1), ... so each endpoint gets an equal share) and
jumps to a per-endpoint chain that DNATs.  Traffic that a pod sends to its own
Service and lands on itself is marked and masqueraded so the reply comes back
through the bridge (hairpin).  The ``kubernetes`` Service is DNATed to the
apiserver on loopback, which pods may reach because the bridge has
``route_localnet`` set.

The output is an ``iptables-restore --noflush`` document for the nat table:
declaring a chain flushes it, so a whole sync is one atomic write, and chains
that are no longer needed are deleted in the same transaction.
"""

from __future__ import annotations

from dataclasses import dataclass

from fleet.local.podlet.naming import short_hash

MASQ_MARK = "0x4000/0x4000"


@dataclass(frozen=True, slots=True)
class ServicePort:
    namespace: str
    service: str
    port_name: str
    protocol: str  # TCP | UDP
    cluster_ip: str
    port: int


@dataclass(frozen=True, slots=True)
class Endpoint:
    ip: str
    port: int


@dataclass(frozen=True, slots=True)
class Chains:
    prefix: str

    @property
    def services(self) -> str:
        return f"{self.prefix}-SVC"

    @property
    def postrouting(self) -> str:
        return f"{self.prefix}-POST"

    def service(self, sp: ServicePort) -> str:
        return f"{self.prefix}-S-{short_hash(f'{sp.namespace}/{sp.service}:{sp.port_name}/{sp.protocol}')}"

    def endpoint(self, sp: ServicePort, ep: Endpoint) -> str:
        key = f"{sp.namespace}/{sp.service}:{sp.port_name}/{sp.protocol}@{ep.ip}:{ep.port}"
        return f"{self.prefix}-E-{short_hash(key)}"

    def owns(self, chain: str) -> bool:
        return chain.startswith(f"{self.prefix}-")


def render(chains: Chains, ports: list[ServicePort], endpoints: dict[ServicePort, list[Endpoint]],
           existing: frozenset[str] = frozenset()) -> str:
    """The nat-table document; ``existing`` are chains of ours found in the kernel, deleted if unused."""
    declared: list[str] = [chains.services, chains.postrouting]
    rules: list[str] = [f"-A {chains.postrouting} -m mark --mark {MASQ_MARK} -j MASQUERADE"]
    for sp in sorted(ports, key=lambda p: (p.namespace, p.service, p.port_name, p.protocol)):
        eps = sorted(set(endpoints.get(sp, [])), key=lambda e: (tuple(int(o) for o in e.ip.split(".")), e.port))
        if not eps:
            continue
        svc_chain = chains.service(sp)
        declared.append(svc_chain)
        proto = sp.protocol.lower()
        comment = f'-m comment --comment "{sp.namespace}/{sp.service}:{sp.port_name}"'
        rules.append(f"-A {chains.services} -d {sp.cluster_ip}/32 -p {proto} -m {proto} --dport {sp.port} "
                     f"{comment} -j {svc_chain}")
        for i, ep in enumerate(eps):
            ep_chain = chains.endpoint(sp, ep)
            declared.append(ep_chain)
            remaining = len(eps) - i
            if remaining > 1:
                rules.append(f"-A {svc_chain} -m statistic --mode random --probability {1 / remaining:.10f} "
                             f"-j {ep_chain}")
            else:
                rules.append(f"-A {svc_chain} -j {ep_chain}")
            if not ep.ip.startswith("127."):
                rules.append(f"-A {ep_chain} -s {ep.ip}/32 -j MARK --set-xmark {MASQ_MARK}")
            rules.append(f"-A {ep_chain} -p {proto} -m {proto} -j DNAT --to-destination {ep.ip}:{ep.port}")
    stale = sorted(c for c in existing if chains.owns(c) and c not in declared)
    lines = ["*nat", *(f":{c} - [0:0]" for c in declared), *rules]
    # A stale chain may still be referenced by a rule of a chain we just flushed; flush it before deleting.
    lines += [f":{c} - [0:0]" for c in stale]
    lines += [f"-X {c}" for c in stale]
    lines.append("COMMIT")
    return "\n".join(lines) + "\n"


def jump_rules(chains: Chains) -> list[tuple[str, str, list[str]]]:
    """(table, chain, rule) of the jumps from the built-in chains into ours."""
    return [
        ("nat", "PREROUTING", ["-m", "comment", "--comment", "meshfleet podlet services", "-j", chains.services]),
        ("nat", "OUTPUT", ["-m", "comment", "--comment", "meshfleet podlet services", "-j", chains.services]),
        ("nat", "POSTROUTING", ["-m", "comment", "--comment", "meshfleet podlet hairpin", "-j",
                                chains.postrouting]),
    ]


def forward_rules(bridge: str) -> list[tuple[str, str, list[str]]]:
    """Let pods' traffic be forwarded even where the FORWARD policy drops (e.g. next to Docker)."""
    return [("filter", "FORWARD", ["-i", bridge, "-j", "ACCEPT"]),
            ("filter", "FORWARD", ["-o", bridge, "-j", "ACCEPT"])]


def ports_of_service(svc: dict[str, object]) -> list[ServicePort]:
    """The ClusterIP ports of a Service object (headless and ExternalName Services have none)."""
    meta = svc.get("metadata")
    spec = svc.get("spec")
    if not isinstance(meta, dict) or not isinstance(spec, dict):
        return []
    ip = spec.get("clusterIP")
    if not isinstance(ip, str) or ip in ("", "None") or spec.get("type") == "ExternalName":
        return []
    out = []
    for p in spec.get("ports") or []:
        out.append(ServicePort(str(meta["namespace"]), str(meta["name"]), str(p.get("name") or ""),
                               str(p.get("protocol") or "TCP"), ip, int(p["port"])))
    return out


def endpoints_of_slices(ports: list[ServicePort], slices: list[dict[str, object]]
                        ) -> dict[ServicePort, list[Endpoint]]:
    """Ready endpoints of each service port, from that Service's EndpointSlices."""
    out: dict[ServicePort, list[Endpoint]] = {sp: [] for sp in ports}
    for sl in slices:
        if sl.get("addressType") != "IPv4":
            continue
        slice_ports = sl.get("ports") or []
        assert isinstance(slice_ports, list)
        for ep in sl.get("endpoints") or []:  # type: ignore[attr-defined]
            conditions = ep.get("conditions") or {}
            if conditions.get("ready") is False:
                continue
            for sp in ports:
                for p in slice_ports:
                    if (p.get("name") or "") == sp.port_name and (p.get("protocol") or "TCP") == sp.protocol \
                            and p.get("port") is not None:
                        out[sp].extend(Endpoint(addr, int(p["port"])) for addr in ep.get("addresses") or [])
    return out
