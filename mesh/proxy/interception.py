"""iptables nat rules that route a pod's traffic through its proxy (pure).

The rules live in chains of our own, so installing them again replaces
their content instead of stacking duplicates, and the only touch on the
built-in chains is one jump each, added when missing::

    PREROUTING -> MESHFLEET_INBOUND:      skipped ports RETURN, other TCP -> REDIRECT inbound port
    OUTPUT     -> MESHFLEET_OUTPUT:       proxy uid, loopback, skipped ports/subnets RETURN,
                                          other TCP -> REDIRECT outbound port
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

INBOUND_CHAIN = "MESHFLEET_INBOUND"
INBOUND_REDIRECT = "MESHFLEET_IN_REDIRECT"
OUTPUT_CHAIN = "MESHFLEET_OUTPUT"
OUTPUT_REDIRECT = "MESHFLEET_OUT_REDIRECT"
ALWAYS_SKIPPED_INBOUND = frozenset({4190, 4191})


@dataclass(frozen=True, slots=True)
class InterceptionConfig:
    proxy_uid: int
    inbound_port: int = 4143
    outbound_port: int = 4140
    skip_inbound_ports: frozenset[int] = frozenset()
    skip_outbound_ports: frozenset[int] = frozenset()
    skip_outbound_subnets: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class RuleSet:
    restore_input: str  # for `iptables-restore --noflush`
    jumps: tuple[tuple[str, ...], ...]  # (chain, rule args...) ensured in the built-in chains


def build_rules(config: InterceptionConfig, *, ipv6: bool = False) -> RuleSet:
    """The nat table content for one address family."""
    loopback = "::1/128" if ipv6 else "127.0.0.1/32"
    subnets: list[str] = []
    for subnet in config.skip_outbound_subnets:
        network = ipaddress.ip_network(subnet, strict=False)
        if (network.version == 6) == ipv6:
            subnets.append(str(network))
    lines = ["*nat"]
    for chain in (INBOUND_CHAIN, INBOUND_REDIRECT, OUTPUT_CHAIN, OUTPUT_REDIRECT):
        lines.append(f":{chain} - [0:0]")
    for chain in (INBOUND_CHAIN, INBOUND_REDIRECT, OUTPUT_CHAIN, OUTPUT_REDIRECT):
        lines.append(f"-F {chain}")
    lines.append(f"-A {INBOUND_REDIRECT} -p tcp -j REDIRECT --to-ports {config.inbound_port}")
    skipped_in = sorted(ALWAYS_SKIPPED_INBOUND | config.skip_inbound_ports | {config.inbound_port})
    for port in skipped_in:
        lines.append(f"-A {INBOUND_CHAIN} -p tcp --dport {port} -j RETURN")
    lines.append(f"-A {INBOUND_CHAIN} -p tcp -j {INBOUND_REDIRECT}")
    lines.append(f"-A {OUTPUT_REDIRECT} -p tcp -j REDIRECT --to-ports {config.outbound_port}")
    # The proxy's own connections must leave untouched or they would loop back into it.
    lines.append(f"-A {OUTPUT_CHAIN} -m owner --uid-owner {config.proxy_uid} -j RETURN")
    lines.append(f"-A {OUTPUT_CHAIN} -o lo -j RETURN")
    lines.append(f"-A {OUTPUT_CHAIN} -d {loopback} -j RETURN")
    for port in sorted(config.skip_outbound_ports):
        lines.append(f"-A {OUTPUT_CHAIN} -p tcp --dport {port} -j RETURN")
    for net in subnets:
        lines.append(f"-A {OUTPUT_CHAIN} -d {net} -j RETURN")
    lines.append(f"-A {OUTPUT_CHAIN} -p tcp -j {OUTPUT_REDIRECT}")
    lines.append("COMMIT")
    jumps = (("PREROUTING", "-j", INBOUND_CHAIN), ("OUTPUT", "-j", OUTPUT_CHAIN))
    return RuleSet("\n".join(lines) + "\n", jumps)
