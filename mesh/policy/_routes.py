"""Outbound routing for a Service from HTTPRoutes: rules, weighted backends, timeouts, retries.

An HTTPRoute whose parent is a Service (in the Service's namespace) applies
to traffic sent to that Service. When several do, the oldest wins, so adding
a route never silently changes traffic another route already shapes.
"""

from __future__ import annotations

from dataclasses import dataclass

from ._inbound import PolicySet
from ._matching import RequestInfo, any_match
from ._model import HTTPRoute, RetrySpec, RouteMatch

CORE_GROUPS = ("", "core")


@dataclass(frozen=True, slots=True)
class WeightedBackend:
    namespace: str
    service: str
    port: int
    weight: int


@dataclass(frozen=True, slots=True)
class OutboundRule:
    matches: tuple[RouteMatch, ...]
    backends: tuple[WeightedBackend, ...]
    request_timeout: float | None = None
    backend_request_timeout: float | None = None


@dataclass(frozen=True, slots=True)
class OutboundRoutes:
    route: str  # "<namespace>/<name>" of the HTTPRoute in force
    rules: tuple[OutboundRule, ...]
    retry: RetrySpec | None = None

    def rule_for(self, request: RequestInfo) -> OutboundRule | None:
        for rule in self.rules:
            if any_match(rule.matches, request):
                return rule
        return None

    def catch_all(self) -> OutboundRule | None:
        """The rule every request reaches when nothing more specific matches, if there is one."""
        for rule in self.rules:
            if not rule.matches or any(_takes_everything(m) for m in rule.matches):
                return rule
        return None


def _takes_everything(m: RouteMatch) -> bool:
    path_all = m.path is None or (m.path.kind == "PathPrefix" and m.path.value.rstrip("/") == "")
    return path_all and m.method is None and not m.headers


def _parents_service(route: HTTPRoute, namespace: str, service: str, port: int) -> bool:
    return any(
        p.kind == "Service"
        and p.group in CORE_GROUPS
        and p.namespace == namespace
        and p.name == service
        and (p.port is None or p.port == port)
        for p in route.parents
    )


def outbound_routes(namespace: str, service: str, port: int, policies: PolicySet) -> OutboundRoutes | None:
    """The routing of ``service:port``; None when no HTTPRoute applies (traffic goes to the Service itself)."""
    candidates = [
        r for r in policies.routes if r.namespace == namespace and _parents_service(r, namespace, service, port)
    ]
    if not candidates:
        return None
    route = min(candidates, key=lambda r: (r.created or "~", r.name))
    rules = []
    for rule in route.rules or ():
        backends = tuple(WeightedBackend(b.namespace, b.name, b.port or port, b.weight) for b in rule.backends) or (
            WeightedBackend(namespace, service, port, 1),
        )
        rules.append(OutboundRule(rule.matches, backends, rule.request_timeout, rule.backend_request_timeout))
    if not rules:
        rules.append(OutboundRule((), (WeightedBackend(namespace, service, port, 1),)))
    return OutboundRoutes(f"{route.namespace}/{route.name}", tuple(rules), route.retry)
