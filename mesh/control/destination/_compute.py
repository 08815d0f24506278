"""Views computed from a ``ClusterIndex``: what one subscription should see right now (pure).

A target is ``host:port`` where host is a Service name (``name.ns``,
``name.ns.svc``, ``name.ns.svc.<cluster-domain>``), a ClusterIP, or a pod
IP. Services resolve to their ready endpoints, or, when an HTTPRoute
parents them, to the endpoints of the route's backends with each backend's
weight spread over its endpoints. A pod IP resolves to that one pod.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from mesh.destination_client import DestinationConfig, DestinationView, EndpointView, sort_endpoints
from mesh.policy import (
    DefaultPolicy,
    InboundPolicy,
    Network,
    PodFacts,
    compile_inbound,
    outbound_routes,
    parse_breaker_annotations,
)
from mesh.policy.errors import InvalidPolicyObject
from mesh.wellknown import (
    MIRROR_CLUSTER_LABEL,
    MIRRORED_SERVICE_LABEL,
    REMOTE_GATEWAY_IDENTITY_ANNOTATION,
    REMOTE_SERVICE_ANNOTATION,
)
from mesh.wellknown import PROXY_CONTAINER as PROXY_CONTAINER  # re-exported

from ._cluster import ClusterIndex, Key, Obj
from .errors import BadTarget

OPAQUE_PORTS_ANNOTATION = "config.meshfleet.io/opaque-ports"
DEFAULT_POLICY_ANNOTATION = "config.meshfleet.io/default-inbound-policy"


@dataclass(frozen=True, slots=True)
class MeshSettings:
    identity_suffix: str  # serviceaccount.identity.<mesh-namespace>.<trust-domain>
    cluster_domain: str = "cluster.local"
    default_policy: DefaultPolicy = DefaultPolicy.ALL_UNAUTHENTICATED
    cluster_networks: tuple[Network, ...] = ()


def split_target(target: str) -> tuple[str, int]:
    if target.startswith("["):
        host, sep, port = target[1:].partition("]:")
    else:
        host, sep, port = target.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) <= 65535:
        raise BadTarget(f"{target!r} is not host:port")
    return host.lower().rstrip("."), int(port)


def _meta(obj: Obj) -> Mapping[str, Any]:
    return obj.get("metadata") or {}


def _annotations(obj: Obj) -> Mapping[str, str]:
    return _meta(obj).get("annotations") or {}


def parse_ports(text: str) -> frozenset[int]:
    """``"25,3306,4000-4010"`` -> those ports; parts that are not ports are ignored."""
    out: set[int] = set()
    for part in text.split(","):
        lo, dash, hi = part.strip().partition("-")
        if lo.isdigit() and (not dash or hi.isdigit()):
            first, last = int(lo), int(hi) if dash else int(lo)
            if 0 < first <= last <= 65535 and last - first < 65536:
                out.update(range(first, last + 1))
    return frozenset(out)


def is_meshed(pod: Obj) -> bool:
    spec = pod.get("spec") or {}
    containers = list(spec.get("containers") or []) + list(spec.get("initContainers") or [])
    return any(c.get("name") == PROXY_CONTAINER for c in containers)


def pod_identity(pod: Obj, settings: MeshSettings) -> str | None:
    """The identity a meshed pod's proxy presents; None for a pod without a proxy."""
    if not is_meshed(pod):
        return None
    sa = (pod.get("spec") or {}).get("serviceAccountName") or "default"
    return f"{sa}.{_meta(pod).get('namespace', '')}.{settings.identity_suffix}"


def _service_key(host: str, index: ClusterIndex, settings: MeshSettings) -> Key | None:
    if host in index.service_by_ip:
        return index.service_by_ip[host]
    parts = host.split(".")
    if len(parts) < 2:
        return None
    tail = ".".join(parts[2:])
    if tail not in ("", "svc", f"svc.{settings.cluster_domain}"):
        return None
    key = (parts[1], parts[0])
    return key if key in index.services else None


def _service_port(svc: Obj, port: int) -> Mapping[str, Any] | None:
    for p in (svc.get("spec") or {}).get("ports") or []:
        if p.get("port") == port and p.get("protocol", "TCP") == "TCP":
            return dict(p)
    return None


def _ready_endpoints(
    key: Key, port_spec: Mapping[str, Any], index: ClusterIndex, settings: MeshSettings, opaque: bool
) -> list[EndpointView]:
    out: list[EndpointView] = []
    port_name = port_spec.get("name") or ""
    for s in index.slices_by_service.get(key, ()):
        if s.get("addressType", "IPv4") not in ("IPv4", "IPv6"):
            continue
        number = next(
            (p.get("port") for p in s.get("ports") or [] if (p.get("name") or "") == port_name and p.get("port")),
            None,
        )
        if number is None:
            continue
        for ep in s.get("endpoints") or []:
            cond = ep.get("conditions") or {}
            if cond.get("ready") is False or cond.get("terminating") is True:
                continue
            ref = ep.get("targetRef") or {}
            pod = None
            if ref.get("kind") == "Pod":
                pod = index.pods.get((str(ref.get("namespace") or key[0]), str(ref.get("name"))))
            identity = pod_identity(pod, settings) if pod else None
            labels = {"namespace": key[0], "service": key[1]}
            if pod is not None:
                labels["pod"] = str(_meta(pod).get("name"))
            for ip in ep.get("addresses") or []:
                out.append(
                    EndpointView(
                        ip,
                        int(number),
                        identity,
                        1.0,
                        "opaque" if opaque else "unknown",
                        tuple(sorted(labels.items())),
                    )
                )
    return out


def _through_gateway(svc: Obj, port: int, endpoints: list[EndpointView]) -> list[EndpointView]:
    """A mirror's endpoints are the linked cluster's gateway: dial its port, ask it for the original.

    A mirror without a readable original name or gateway identity has no
    endpoints at all: sending its traffic in plaintext, or to a gateway
    that cannot be verified, would be worse than failing it.
    """
    annotations = _annotations(svc)
    original = annotations.get(REMOTE_SERVICE_ANNOTATION, "").strip().lower()
    identity = annotations.get(REMOTE_GATEWAY_IDENTITY_ANNOTATION, "").strip()
    if not original or not identity:
        return []
    cluster = str((_meta(svc).get("labels") or {}).get(MIRROR_CLUSTER_LABEL, ""))
    return [
        EndpointView(e.host, port, identity, e.weight, e.protocol, tuple(sorted((*e.labels, ("cluster", cluster)))),
                     proxy_port=e.port, remote=f"{original}:{port}")
        for e in endpoints
    ]  # fmt: skip


def _is_mirror(svc: Obj) -> bool:
    return (_meta(svc).get("labels") or {}).get(MIRRORED_SERVICE_LABEL) == "true"


def _is_opaque(obj: Obj, port: int) -> bool:
    return port in parse_ports(_annotations(obj).get(OPAQUE_PORTS_ANNOTATION, ""))


def _service_view(
    target: str, key: Key, port: int, index: ClusterIndex, settings: MeshSettings
) -> DestinationView | None:
    svc = index.services[key]
    if (svc.get("spec") or {}).get("type") == "ExternalName":
        return None
    port_spec = _service_port(svc, port)
    if port_spec is None:
        return None
    ns, name = key
    opaque = _is_opaque(svc, port)
    routes = outbound_routes(ns, name, port, index.policies)
    rule = routes.catch_all() if routes else None
    if rule is None:
        endpoints = _ready_endpoints(key, port_spec, index, settings, opaque)
        if _is_mirror(svc):
            endpoints = _through_gateway(svc, port, endpoints)
    else:
        merged: dict[str, EndpointView] = {}
        for backend in rule.backends:
            bkey = (backend.namespace, backend.service)
            bsvc = index.services.get(bkey)
            bport = _service_port(bsvc, backend.port) if bsvc else None
            if bsvc is None or bport is None or backend.weight <= 0:
                continue
            eps = _ready_endpoints(bkey, bport, index, settings, opaque)
            if _is_mirror(bsvc):  # a split may send a share to another cluster, through its gateway
                eps = _through_gateway(bsvc, backend.port, eps)
            share = backend.weight / len(eps) if eps else 0.0
            for e in eps:
                labels = tuple(sorted((*e.labels, ("backend", f"{backend.namespace}/{backend.service}"))))
                prior = merged.get(e.address)
                weight = share + (prior.weight if prior else 0.0)
                merged[e.address] = replace(e, weight=weight, labels=labels)
        endpoints = list(merged.values())
    try:
        breaker = parse_breaker_annotations(_annotations(svc), f"Service {ns}/{name}")
    except InvalidPolicyObject:
        breaker = None
    config = DestinationConfig(
        opaque=opaque,
        request_timeout=rule.request_timeout if rule else None,
        retry=routes.retry if routes else None,
        breaker=breaker,
        route=routes.route if routes else None,
    )
    ips = [ip for ip, k in index.service_by_ip.items() if k == key]
    addresses = tuple(sorted(f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}" for ip in ips))
    return DestinationView(target, ns, name, port, addresses, config, sort_endpoints(endpoints))


def _pod_view(
    target: str, host: str, port: int, key: Key, index: ClusterIndex, settings: MeshSettings
) -> DestinationView:
    pod = index.pods[key]
    opaque = _is_opaque(pod, port)
    labels = (("namespace", key[0]), ("pod", key[1]))
    ep = EndpointView(host, port, pod_identity(pod, settings), 1.0, "opaque" if opaque else "unknown", labels)
    return DestinationView(target, key[0], "", port, (), DestinationConfig(opaque=opaque), (ep,))


def destination_view(target: str, index: ClusterIndex, settings: MeshSettings) -> DestinationView | None:
    """What a subscriber to ``target`` should see; None when the cluster does not know it."""
    host, port = split_target(target)
    key = _service_key(host, index, settings)
    if key is not None:
        return _service_view(target, key, port, index, settings)
    pod_key = index.pod_by_ip.get(host)
    if pod_key is not None:
        return _pod_view(target, host, port, pod_key, index, settings)
    return None


def _named_ports(pod: Obj) -> dict[str, int]:
    spec = pod.get("spec") or {}
    out: dict[str, int] = {}
    for c in list(spec.get("containers") or []) + list(spec.get("initContainers") or []):
        for p in c.get("ports") or []:
            if p.get("name") and p.get("containerPort"):
                out.setdefault(str(p["name"]), int(p["containerPort"]))
    return out


def default_policy_for(pod: Obj, index: ClusterIndex, settings: MeshSettings) -> DefaultPolicy:
    """Pod annotation, else namespace annotation, else the cluster default; unreadable values are skipped."""
    ns = index.namespaces.get(str(_meta(pod).get("namespace")))
    for source in (pod, ns):
        value = _annotations(source).get(DEFAULT_POLICY_ANNOTATION) if source else None
        if value:
            try:
                return DefaultPolicy.parse(value, DEFAULT_POLICY_ANNOTATION)
            except InvalidPolicyObject:
                continue
    return settings.default_policy


def inbound_policy(namespace: str, name: str, index: ClusterIndex, settings: MeshSettings) -> InboundPolicy | None:
    """The inbound policy of pod ``namespace/name``; None when there is no such pod."""
    pod = index.pods.get((namespace, name))
    if pod is None:
        return None
    facts = PodFacts(namespace, name, dict(_meta(pod).get("labels") or {}), _named_ports(pod))
    return compile_inbound(facts, index.policies, default_policy_for(pod, index, settings), settings.cluster_networks)
