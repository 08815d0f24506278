"""InboundPolicy to and from plain JSON values, as the destination stream carries it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ._inbound import ClientRule, InboundPolicy, InboundRoute, PortPolicy
from ._model import DefaultPolicy, HeaderMatch, Network, PathMatch, RouteMatch
from .errors import InvalidPolicyObject


def match_to_wire(m: RouteMatch) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if m.path is not None:
        out["path"] = {"type": m.path.kind, "value": m.path.value}
    if m.method is not None:
        out["method"] = m.method
    if m.headers:
        out["headers"] = [{"type": h.kind, "name": h.name, "value": h.value} for h in m.headers]
    return out


def match_from_wire(raw: Mapping[str, Any]) -> RouteMatch:
    path = raw.get("path")
    return RouteMatch(
        path=PathMatch(str(path["type"]), str(path["value"])) if path else None,
        method=str(raw["method"]) if raw.get("method") else None,
        headers=tuple(HeaderMatch(str(h["type"]), str(h["name"]), str(h["value"])) for h in raw.get("headers", ())),
    )


def _networks_to_wire(nets: tuple[Network, ...]) -> list[dict[str, Any]]:
    return [{"cidr": n.cidr, "except": list(n.exceptions)} for n in nets]


def _networks_from_wire(raw: Any) -> tuple[Network, ...]:
    return tuple(Network(str(n["cidr"]), tuple(str(e) for e in n.get("except", ()))) for n in raw)


def inbound_to_wire(policy: InboundPolicy) -> dict[str, Any]:
    return {
        "default": policy.default.value,
        "clusterNetworks": _networks_to_wire(policy.cluster_networks),
        "ports": [
            {
                "port": p.port,
                "server": p.server,
                "protocol": p.protocol,
                "accessPolicy": p.access_policy.value if p.access_policy else None,
                "authorizations": [
                    {
                        "name": a.name,
                        "identities": [list(s) for s in a.identity_sets],
                        "networks": [_networks_to_wire(s) for s in a.network_sets],
                        "route": a.route,
                        "unresolved": a.unresolved,
                    }
                    for a in p.authorizations
                ],
                "routes": [
                    {"name": r.name, "rules": [[match_to_wire(m) for m in rule] for rule in r.matches]}
                    for r in p.routes
                ],
            }
            for p in policy.ports
        ],
    }


def inbound_from_wire(raw: Any) -> InboundPolicy:
    """The inverse of ``inbound_to_wire``; anything malformed raises InvalidPolicyObject."""
    try:
        ports = []
        for p in raw.get("ports", ()):
            access = p.get("accessPolicy")
            ports.append(
                PortPolicy(
                    port=int(p["port"]),
                    server=str(p["server"]),
                    protocol=str(p.get("protocol", "unknown")),
                    access_policy=DefaultPolicy(access) if access else None,
                    authorizations=tuple(
                        ClientRule(
                            name=str(a["name"]),
                            identity_sets=tuple(tuple(str(i) for i in s) for s in a.get("identities", ())),
                            network_sets=tuple(_networks_from_wire(s) for s in a.get("networks", ())),
                            route=str(a["route"]) if a.get("route") else None,
                            unresolved=bool(a.get("unresolved", False)),
                        )
                        for a in p.get("authorizations", ())
                    ),
                    routes=tuple(
                        InboundRoute(
                            str(r["name"]), tuple(tuple(match_from_wire(m) for m in rule) for rule in r["rules"])
                        )
                        for r in p.get("routes", ())
                    ),
                )
            )
        return InboundPolicy(
            default=DefaultPolicy(raw.get("default", DefaultPolicy.ALL_UNAUTHENTICATED.value)),
            cluster_networks=_networks_from_wire(raw.get("clusterNetworks", ())),
            ports=tuple(ports),
        )
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        raise InvalidPolicyObject("inbound policy", f"malformed: {type(e).__name__}: {e}") from e
