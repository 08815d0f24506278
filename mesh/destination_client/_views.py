"""What the destination service tells a proxy about one destination, and the diffs between two views.

A view is the whole truth for one subscription: the endpoints (address,
identity, weight, protocol hint, labels) and the route configuration
(timeouts, retries, breaker settings, opaque). The service sends a full
view first and then only updates: endpoints added (or changed, keyed by
address), addresses removed, and the configuration when it changed.
``apply_update(old, diff_views(old, new)) == new`` always holds.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from mesh.policy import BreakerSpec, RetrySpec

from .errors import ProtocolError


@dataclass(frozen=True, slots=True)
class EndpointView:
    host: str
    port: int
    identity: str | None = None  # the mesh identity its proxy presents; None: not meshed
    weight: float = 1.0
    protocol: str = "unknown"  # unknown | http1 | opaque: a hint, so the client can skip detection
    labels: tuple[tuple[str, str], ...] = ()
    # Another cluster's gateway standing in for a mirrored service: dial ``proxy_port``
    # there, and name ``remote`` (the service's host:port in that cluster) in the preface.
    proxy_port: int | None = None
    remote: str | None = None

    @property
    def address(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


@dataclass(frozen=True, slots=True)
class DestinationConfig:
    opaque: bool = False
    request_timeout: float | None = None
    retry: RetrySpec | None = None
    breaker: BreakerSpec | None = None
    route: str | None = None  # "<namespace>/<name>" of the HTTPRoute in force


@dataclass(frozen=True, slots=True)
class DestinationView:
    authority: str  # what the client subscribed to
    namespace: str = ""
    service: str = ""  # empty when the target is a bare pod address
    port: int = 0
    addresses: tuple[str, ...] = ()  # other ip:port forms of the same service (ClusterIPs)
    config: DestinationConfig = field(default_factory=DestinationConfig)
    endpoints: tuple[EndpointView, ...] = ()  # sorted by address


def sort_endpoints(endpoints: Any) -> tuple[EndpointView, ...]:
    return tuple(sorted(endpoints, key=lambda e: e.address))


# -- wire form ---------------------------------------------------------------------------------


def endpoint_to_wire(e: EndpointView) -> dict[str, Any]:
    out: dict[str, Any] = {"host": e.host, "port": e.port, "weight": e.weight, "protocol": e.protocol}
    if e.identity is not None:
        out["identity"] = e.identity
    if e.labels:
        out["labels"] = dict(e.labels)
    if e.proxy_port is not None:
        out["proxyPort"] = e.proxy_port
    if e.remote is not None:
        out["remote"] = e.remote
    return out


def endpoint_from_wire(raw: Mapping[str, Any]) -> EndpointView:
    identity = raw.get("identity")
    return EndpointView(
        host=str(raw["host"]),
        port=int(raw["port"]),
        identity=str(identity) if identity else None,
        weight=float(raw.get("weight", 1.0)),
        protocol=str(raw.get("protocol", "unknown")),
        labels=tuple(sorted((str(k), str(v)) for k, v in dict(raw.get("labels") or {}).items())),
        proxy_port=int(raw["proxyPort"]) if raw.get("proxyPort") is not None else None,
        remote=str(raw["remote"]) if raw.get("remote") else None,
    )


def config_to_wire(c: DestinationConfig) -> dict[str, Any]:
    return {
        "opaque": c.opaque,
        "requestTimeout": c.request_timeout,
        "retry": None
        if c.retry is None
        else {"limit": c.retry.limit, "on": list(c.retry.conditions), "perTryTimeout": c.retry.per_try_timeout},
        "breaker": None
        if c.breaker is None
        else {
            "consecutiveFailures": c.breaker.consecutive_failures,
            "minBackoff": c.breaker.min_backoff,
            "maxBackoff": c.breaker.max_backoff,
        },
        "route": c.route,
    }


def config_from_wire(raw: Mapping[str, Any]) -> DestinationConfig:
    retry = raw.get("retry")
    breaker = raw.get("breaker")
    timeout = raw.get("requestTimeout")
    return DestinationConfig(
        opaque=bool(raw.get("opaque", False)),
        request_timeout=float(timeout) if timeout is not None else None,
        retry=None
        if not retry
        else RetrySpec(
            int(retry["limit"]),
            tuple(str(c) for c in retry.get("on", ())),
            float(retry["perTryTimeout"]) if retry.get("perTryTimeout") is not None else None,
        ),
        breaker=None
        if not breaker
        else BreakerSpec(
            int(breaker["consecutiveFailures"]), float(breaker["minBackoff"]), float(breaker["maxBackoff"])
        ),
        route=str(raw["route"]) if raw.get("route") else None,
    )


def view_to_wire(v: DestinationView) -> dict[str, Any]:
    return {
        "authority": v.authority,
        "namespace": v.namespace,
        "service": v.service,
        "port": v.port,
        "addresses": list(v.addresses),
        "config": config_to_wire(v.config),
        "endpoints": [endpoint_to_wire(e) for e in v.endpoints],
    }


def view_from_wire(raw: Mapping[str, Any]) -> DestinationView:
    try:
        return DestinationView(
            authority=str(raw["authority"]),
            namespace=str(raw.get("namespace", "")),
            service=str(raw.get("service", "")),
            port=int(raw.get("port", 0)),
            addresses=tuple(str(a) for a in raw.get("addresses", ())),
            config=config_from_wire(raw.get("config") or {}),
            endpoints=sort_endpoints(endpoint_from_wire(e) for e in raw.get("endpoints", ())),
        )
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        raise ProtocolError(f"malformed destination view: {type(e).__name__}: {e}") from e


# -- diffs ---------------------------------------------------------------------------------------


def diff_views(old: DestinationView, new: DestinationView) -> dict[str, Any] | None:
    """The update turning ``old`` into ``new`` (wire form, without id/type); None when they are equal."""
    if old == new:
        return None
    before = {e.address: e for e in old.endpoints}
    after = {e.address: e for e in new.endpoints}
    out: dict[str, Any] = {}
    added = [endpoint_to_wire(e) for a, e in after.items() if before.get(a) != e]
    removed = sorted(a for a in before if a not in after)
    if added:
        out["add"] = added
    if removed:
        out["remove"] = removed
    meta_old = replace(old, endpoints=())
    meta_new = replace(new, endpoints=())
    if meta_old != meta_new:
        head = view_to_wire(meta_new)
        del head["endpoints"]
        out["service"] = head
    return out


def apply_update(view: DestinationView, update: Mapping[str, Any]) -> DestinationView:
    """``view`` with one update applied; a malformed update raises ProtocolError."""
    try:
        endpoints = {e.address: e for e in view.endpoints}
        for address in update.get("remove", ()):
            endpoints.pop(str(address), None)
        for raw in update.get("add", ()):
            e = endpoint_from_wire(raw)
            endpoints[e.address] = e
        head = update.get("service")
        base = view if head is None else view_from_wire({**head, "endpoints": []})
        return replace(base, endpoints=sort_endpoints(endpoints.values()))
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        raise ProtocolError(f"malformed destination update: {type(e).__name__}: {e}") from e
