"""Inbound authorization: a pod's policy compiled from the objects, and the evaluator the proxy calls.

Compiling (destination side) resolves selectors, named ports and references
once, so what travels to a proxy is small and flat. Evaluating (proxy side)
is a few comparisons per connection or request:

    port has no Server            -> the pod's default policy decides
    an authorization is satisfied -> allowed
    only route-scoped ones exist  -> a connection is let in and each request is judged
    otherwise                     -> the Server's accessPolicy, or denied

An authorization is satisfied when every authentication it requires is: a
MeshTLSAuthentication by the client's identity, a NetworkAuthentication by
the client's address. A reference to an authentication that does not exist
can never be satisfied, so a typo denies rather than allows.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from ._matching import RequestInfo, address_in, any_match, identity_matches
from ._model import (
    AuthorizationPolicy,
    DefaultPolicy,
    HTTPRoute,
    MeshTLSAuthentication,
    Network,
    NetworkAuthentication,
    RouteMatch,
    Server,
)
from ._parse import PolicyObject

OPAQUE_PROTOCOLS = frozenset({"opaque", "TLS"})


@dataclass(frozen=True, slots=True)
class ClientRule:
    """One AuthorizationPolicy, reduced to what a client must show."""

    name: str  # "<namespace>/<name>" of the AuthorizationPolicy
    identity_sets: tuple[tuple[str, ...], ...] = ()  # each set must contain a pattern matching the client
    network_sets: tuple[tuple[Network, ...], ...] = ()  # each set must contain the client's address
    route: str | None = None  # limited to requests matching this inbound route; None: the whole port
    unresolved: bool = False  # it names an authentication that does not exist

    def satisfied_by(self, identity: str | None, ip: str | None) -> bool:
        if self.unresolved:
            return False
        for patterns in self.identity_sets:
            if identity is None or not any(identity_matches(p, identity) for p in patterns):
                return False
        return all(address_in(ip, nets) for nets in self.network_sets)


@dataclass(frozen=True, slots=True)
class InboundRoute:
    name: str  # "<namespace>/<name>" of the HTTPRoute
    matches: tuple[tuple[RouteMatch, ...], ...]  # one tuple per rule


@dataclass(frozen=True, slots=True)
class PortPolicy:
    port: int
    server: str  # "<namespace>/<name>"
    protocol: str = "unknown"
    access_policy: DefaultPolicy | None = None  # None: deny when no authorization matches
    authorizations: tuple[ClientRule, ...] = ()
    routes: tuple[InboundRoute, ...] = ()


@dataclass(frozen=True, slots=True)
class InboundPolicy:
    """Everything a proxy needs to authorize traffic to its pod."""

    default: DefaultPolicy = DefaultPolicy.ALL_UNAUTHENTICATED
    cluster_networks: tuple[Network, ...] = ()
    ports: tuple[PortPolicy, ...] = ()

    def port(self, number: int) -> PortPolicy | None:
        for p in self.ports:
            if p.port == number:
                return p
        return None

    def opaque_ports(self) -> frozenset[int]:
        return frozenset(p.port for p in self.ports if p.protocol in OPAQUE_PROTOCOLS)


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    # A short label for metrics and the 403 header: authorized, default-allow, audit, per-request,
    # unauthenticated, outside-cluster-networks, unauthorized, denied.
    reason: str
    # What decided: "<ns>/<authorizationpolicy>", "server:<ns>/<name>" or "default:<policy>".
    rule: str


@dataclass(frozen=True, slots=True)
class PodFacts:
    """What compiling needs of a pod."""

    namespace: str
    name: str
    labels: Mapping[str, str] = field(default_factory=dict)
    ports: Mapping[str, int] = field(default_factory=dict)  # named container ports


def _apply_default(
    policy: DefaultPolicy, identity: str | None, ip: str | None, networks: tuple[Network, ...], rule: str
) -> Decision:
    if policy is DefaultPolicy.ALL_UNAUTHENTICATED:
        return Decision(True, "default-allow", rule)
    if policy is DefaultPolicy.AUDIT:
        return Decision(True, "audit", rule)
    if policy is DefaultPolicy.DENY:
        return Decision(False, "denied", rule)
    if identity is not None:
        return Decision(True, "default-allow", rule)
    if policy is DefaultPolicy.CLUSTER_AUTHENTICATED and address_in(ip, networks):
        return Decision(True, "default-allow", rule)
    reason = "unauthenticated" if policy is DefaultPolicy.ALL_AUTHENTICATED else "outside-cluster-networks"
    return Decision(False, reason, rule)


def evaluate(
    policy: InboundPolicy,
    port: int,
    client_identity: str | None,
    client_ip: str | None,
    request: RequestInfo | None = None,
) -> Decision:
    """Allow or deny one connection (``request`` None) or one HTTP request on it.

    ``client_identity`` is the verified mTLS identity, None for plaintext.
    """
    pp = policy.port(port)
    if pp is None:
        return _apply_default(
            policy.default, client_identity, client_ip, policy.cluster_networks, f"default:{policy.default.value}"
        )
    routes = {r.name: r for r in pp.routes}
    route_scoped = False
    for auth in pp.authorizations:
        if auth.route is not None:
            route_scoped = True
            if request is None:
                continue
            route = routes.get(auth.route)
            if route is None or not any(any_match(m, request) for m in route.matches):
                continue
        if auth.satisfied_by(client_identity, client_ip):
            return Decision(True, "authorized", auth.name)
    if request is None and route_scoped and pp.protocol not in OPAQUE_PROTOCOLS:
        return Decision(True, "per-request", f"server:{pp.server}")
    if pp.access_policy is None:
        return Decision(False, "unauthorized", f"server:{pp.server}")
    return _apply_default(pp.access_policy, client_identity, client_ip, policy.cluster_networks, f"server:{pp.server}")


@dataclass(frozen=True, slots=True)
class PolicySet:
    """Parsed policy objects of a cluster, by kind."""

    servers: tuple[Server, ...] = ()
    authorizations: tuple[AuthorizationPolicy, ...] = ()
    meshtls: tuple[MeshTLSAuthentication, ...] = ()
    networks: tuple[NetworkAuthentication, ...] = ()
    routes: tuple[HTTPRoute, ...] = ()

    @classmethod
    def of(cls, objects: Iterable[PolicyObject]) -> PolicySet:
        by: dict[type, list[PolicyObject]] = {}
        for obj in objects:
            by.setdefault(type(obj), []).append(obj)

        def sort(kind: type) -> tuple[PolicyObject, ...]:
            return tuple(sorted(by.get(kind, ()), key=lambda o: (o.namespace, o.name)))

        return cls(
            servers=sort(Server),  # type: ignore[arg-type]
            authorizations=sort(AuthorizationPolicy),  # type: ignore[arg-type]
            meshtls=sort(MeshTLSAuthentication),  # type: ignore[arg-type]
            networks=sort(NetworkAuthentication),  # type: ignore[arg-type]
            routes=sort(HTTPRoute),  # type: ignore[arg-type]
        )


def _server_port(server: Server, pod: PodFacts) -> int | None:
    if isinstance(server.port, int):
        return server.port
    return pod.ports.get(server.port)


def _client_rule(auth: AuthorizationPolicy, policies: PolicySet, route: str | None) -> ClientRule:
    identity_sets: list[tuple[str, ...]] = []
    network_sets: list[tuple[Network, ...]] = []
    unresolved = False
    for ref in auth.required:
        if ref.kind == "MeshTLSAuthentication":
            found = next((m for m in policies.meshtls if (m.namespace, m.name) == (ref.namespace, ref.name)), None)
            if found is None:
                unresolved = True
            else:
                identity_sets.append(found.identities)
        else:
            net = next((n for n in policies.networks if (n.namespace, n.name) == (ref.namespace, ref.name)), None)
            if net is None:
                unresolved = True
            else:
                network_sets.append(net.networks)
    return ClientRule(f"{auth.namespace}/{auth.name}", tuple(identity_sets), tuple(network_sets), route, unresolved)


def compile_inbound(
    pod: PodFacts,
    policies: PolicySet,
    default: DefaultPolicy,
    cluster_networks: tuple[Network, ...] = (),
) -> InboundPolicy:
    """The inbound policy of one pod.

    When two Servers claim the same port of a pod, the one first by name
    wins, so the answer never depends on the order objects were seen.
    """
    ports: list[PortPolicy] = []
    claimed: set[int] = set()
    for server in policies.servers:
        if server.namespace != pod.namespace or not server.pod_selector.matches(pod.labels):
            continue
        number = _server_port(server, pod)
        if number is None or number in claimed:
            continue
        claimed.add(number)
        routes = tuple(
            InboundRoute(f"{r.namespace}/{r.name}", tuple(rule.matches for rule in r.rules) or ((),))
            for r in policies.routes
            if r.namespace == server.namespace
            and any(p.kind == "Server" and p.name == server.name and p.namespace == server.namespace for p in r.parents)
        )
        route_names = {r.name for r in routes}
        rules: list[ClientRule] = []
        for auth in policies.authorizations:
            t = auth.target
            if t.kind == "Server" and t.namespace == server.namespace and t.name == server.name:
                rules.append(_client_rule(auth, policies, None))
            elif t.kind == "Namespace" and t.name == pod.namespace and auth.namespace == pod.namespace:
                rules.append(_client_rule(auth, policies, None))
            elif t.kind == "HTTPRoute" and f"{t.namespace}/{t.name}" in route_names:
                rules.append(_client_rule(auth, policies, f"{t.namespace}/{t.name}"))
        ports.append(
            PortPolicy(
                port=number,
                server=f"{server.namespace}/{server.name}",
                protocol=server.protocol,
                access_policy=server.access_policy,
                authorizations=tuple(rules),
                routes=routes,
            )
        )
    return InboundPolicy(default, cluster_networks, tuple(sorted(ports, key=lambda p: p.port)))
