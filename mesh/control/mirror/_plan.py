"""What the mirrors of one Link should be, and the writes that make the local cluster so (pure).

The object contract (read by the destination service and the proxies, see
docs/multicluster.md): for an exported Service ``S`` in namespace ``N`` of
target cluster ``T``, the local cluster holds a selector-less ClusterIP
Service ``N/S-T`` with S's TCP ports, and an EndpointSlice ``N/S-T`` whose
endpoints are the remote gateway's IPs and whose ports all point at the
gateway port. Both carry labels that say they are ours and for which
cluster; nothing without them is ever changed or deleted.

The API server fills in defaults (clusterIP, targetPort, ipFamilies, ...),
so an existing mirror is compared on the fields this contract fixes only,
and a replacement keeps everything else of the object it replaces.
"""

from __future__ import annotations

import copy
import ipaddress
from collections.abc import Iterable, Mapping, Sequence, Set
from dataclasses import dataclass
from typing import Any, Literal

from mesh.wellknown import (
    MIRROR_CLUSTER_LABEL,
    MIRRORED_SERVICE_LABEL,
    REMOTE_GATEWAY_IDENTITY_ANNOTATION,
    REMOTE_SERVICE_ANNOTATION,
)

from ._spec import LinkSpec

Obj = dict[str, Any]
Key = tuple[str, str]  # (namespace, name)
Kind = Literal["Service", "EndpointSlice"]

MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
MANAGED_BY = "meshfleet-mirror"
SLICE_MANAGED_BY_LABEL = "endpointslice.kubernetes.io/managed-by"
SLICE_MANAGED_BY = "mirror.multicluster.meshfleet.io"
SERVICE_NAME_LABEL = "kubernetes.io/service-name"
CREATED_BY_LABEL = "multicluster.meshfleet.io/created-by-mirror"
GATEWAY_SERVICE = "gateway"


# -- views of what the API servers hold ---------------------------------------------------


@dataclass(frozen=True, slots=True)
class ServicePort:
    name: str
    port: int
    protocol: str


@dataclass(frozen=True, slots=True)
class RemoteService:
    """A Service of the target cluster, reduced to what mirroring reads."""

    namespace: str
    name: str
    labels: tuple[tuple[str, str], ...]
    ports: tuple[ServicePort, ...]

    @property
    def label_map(self) -> dict[str, str]:
        return dict(self.labels)


@dataclass(frozen=True, slots=True)
class LocalObject:
    """A Service or EndpointSlice of the local cluster as the API server last showed it."""

    namespace: str
    name: str
    labels: tuple[tuple[str, str], ...]
    resource_version: str
    body: Obj

    @property
    def key(self) -> Key:
        return (self.namespace, self.name)

    def label(self, name: str) -> str | None:
        return dict(self.labels).get(name)


@dataclass(frozen=True, slots=True)
class NamespaceView:
    name: str
    terminating: bool


def _meta(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    meta = obj.get("metadata")
    return meta if isinstance(meta, Mapping) else {}


def _labels(meta: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    raw = meta.get("labels")
    return tuple(sorted((str(k), str(v)) for k, v in raw.items())) if isinstance(raw, Mapping) else ()


def remote_service(obj: Mapping[str, Any]) -> RemoteService:
    meta = _meta(obj)
    spec = obj.get("spec") if isinstance(obj.get("spec"), Mapping) else {}
    ports = []
    for raw in (spec or {}).get("ports") or []:
        if not isinstance(raw, Mapping):
            continue
        port = raw.get("port")
        if isinstance(port, int) and not isinstance(port, bool):
            # The API server defaults the protocol to TCP; a hand-made view may leave it out.
            ports.append(ServicePort(str(raw.get("name") or ""), port, str(raw.get("protocol") or "TCP")))
    return RemoteService(str(meta.get("namespace", "")), str(meta.get("name", "")), _labels(meta), tuple(ports))


def local_object(obj: Mapping[str, Any]) -> LocalObject:
    meta = _meta(obj)
    return LocalObject(
        namespace=str(meta.get("namespace", "")),
        name=str(meta.get("name", "")),
        labels=_labels(meta),
        resource_version=str(meta.get("resourceVersion", "")),
        body=dict(obj),
    )


def namespace_view(obj: Mapping[str, Any]) -> NamespaceView:
    meta = _meta(obj)
    status = obj.get("status") if isinstance(obj.get("status"), Mapping) else {}
    terminating = bool(meta.get("deletionTimestamp")) or (status or {}).get("phase") == "Terminating"
    return NamespaceView(str(meta.get("name", "")), terminating)


def slice_addresses(obj: Mapping[str, Any]) -> tuple[str, ...]:
    """The ready IPv4 addresses of one of the gateway Service's EndpointSlices.

    An endpoint whose readiness is not stated counts as ready, as the
    EndpointSlice API asks of its readers; one marked not ready does not.
    """
    if obj.get("addressType") != "IPv4":
        return ()
    out = []
    for endpoint in obj.get("endpoints") or []:
        if not isinstance(endpoint, Mapping):
            continue
        conditions = endpoint.get("conditions") if isinstance(endpoint.get("conditions"), Mapping) else {}
        if (conditions or {}).get("ready") is False:
            continue
        for address in endpoint.get("addresses") or []:
            try:
                out.append(str(ipaddress.IPv4Address(str(address))))
            except ValueError:
                continue
    return tuple(out)


def _sorted_ips(addresses: Iterable[str]) -> tuple[str, ...]:
    return tuple(str(ip) for ip in sorted({ipaddress.IPv4Address(a) for a in addresses}))


def gateway_ips(
    link: LinkSpec, gateway_slices: Iterable[Sequence[str]], resolved: Sequence[str] = ()
) -> tuple[str, ...]:
    """Where the target cluster's gateway listens, in address order.

    The Link's ``gatewayAddress`` wins: as an IP it is used as is, as a DNS
    name through ``resolved`` (the shell's lookup of it). Without one, the
    ready addresses of the remote ``gateway`` Service's EndpointSlices
    (``gateway_slices``: the addresses of each, see :func:`slice_addresses`).
    """
    if link.gateway_ip is not None:
        return (link.gateway_ip,)
    if link.gateway_hostname is not None:
        return _sorted_ips(a for a in resolved if _is_ipv4(a))
    return _sorted_ips(a for addresses in gateway_slices for a in addresses)


def _is_ipv4(text: str) -> bool:
    try:
        ipaddress.IPv4Address(text)
    except ValueError:
        return False
    return True


# -- what the mirrors should be -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Mirror:
    """The two objects that stand in, locally, for one remote Service."""

    namespace: str
    name: str
    service: Obj
    endpoint_slice: Obj

    @property
    def key(self) -> Key:
        return (self.namespace, self.name)


@dataclass(frozen=True, slots=True)
class Skipped:
    """A remote Service or an existing object the mirror will not act on, and why (for the log)."""

    namespace: str
    name: str
    reason: str


def mirror_name(service: str, cluster: str) -> str:
    return f"{service}-{cluster}"


def is_exported(service: RemoteService, link: LinkSpec) -> bool:
    """Matched by the Link's selector, and not itself a mirror (two clusters linked both ways would echo)."""
    labels = service.label_map
    return labels.get(MIRRORED_SERVICE_LABEL) != "true" and link.selector.matches(labels)


def desired_service(link: LinkSpec, service: RemoteService) -> Obj:
    name = mirror_name(service.name, link.target_cluster)
    ports: list[Obj] = []
    for p in service.ports:
        if p.protocol != "TCP":
            continue
        port: Obj = {"port": p.port, "protocol": "TCP"}
        if p.name:
            port = {"name": p.name, **port}
        ports.append(port)
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "name": name,
            "namespace": service.namespace,
            "labels": {
                MIRRORED_SERVICE_LABEL: "true",
                MIRROR_CLUSTER_LABEL: link.target_cluster,
                MANAGED_BY_LABEL: MANAGED_BY,
            },
            "annotations": {
                REMOTE_SERVICE_ANNOTATION: f"{service.name}.{service.namespace}.svc.{link.target_domain}",
                REMOTE_GATEWAY_IDENTITY_ANNOTATION: link.gateway_identity,
            },
        },
        # No selector: the endpoints are ours to write, not the endpoint controller's.
        "spec": {"type": "ClusterIP", "ports": ports},
    }


def desired_slice(link: LinkSpec, service: RemoteService, gateway: Sequence[str]) -> Obj:
    name = mirror_name(service.name, link.target_cluster)
    return {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {
            "name": name,
            "namespace": service.namespace,
            "labels": {
                SERVICE_NAME_LABEL: name,
                SLICE_MANAGED_BY_LABEL: SLICE_MANAGED_BY,
                MIRROR_CLUSTER_LABEL: link.target_cluster,
            },
        },
        "addressType": "IPv4",
        "endpoints": [{"addresses": [ip], "conditions": {"ready": True}} for ip in gateway],
        "ports": [
            {"name": p.name, "port": link.gateway_port, "protocol": "TCP"} for p in service.ports if p.protocol == "TCP"
        ],
    }


def desired_mirrors(
    link: LinkSpec, services: Iterable[RemoteService], gateway: Sequence[str]
) -> tuple[tuple[Mirror, ...], tuple[Skipped, ...]]:
    """A mirror for every exported Service with a TCP port, in (namespace, name) order; and what was left out."""
    mirrors, skipped = [], []
    for svc in sorted(services, key=lambda s: (s.namespace, s.name)):
        if not is_exported(svc, link):
            continue
        name = mirror_name(svc.name, link.target_cluster)
        if len(name) > 63:
            skipped.append(Skipped(svc.namespace, svc.name, f"its mirror's name {name} is longer than 63 characters"))
            continue
        if not any(p.protocol == "TCP" for p in svc.ports):
            # A Service needs at least one port, and the gateway forwards TCP only.
            skipped.append(Skipped(svc.namespace, svc.name, "it has no TCP port"))
            continue
        mirrors.append(Mirror(svc.namespace, name, desired_service(link, svc), desired_slice(link, svc, gateway)))
    return tuple(mirrors), tuple(skipped)


# -- comparing and writing ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CreateNamespace:
    name: str
    body: Obj


@dataclass(frozen=True, slots=True)
class CreateObject:
    kind: Kind
    namespace: str
    name: str
    body: Obj


@dataclass(frozen=True, slots=True)
class ReplaceObject:
    """Overwrite an object of ours; ``body`` carries the resourceVersion it replaces, so a racing write loses."""

    kind: Kind
    namespace: str
    name: str
    body: Obj


@dataclass(frozen=True, slots=True)
class DeleteObject:
    kind: Kind
    namespace: str
    name: str
    resource_version: str


Action = CreateNamespace | CreateObject | ReplaceObject | DeleteObject


@dataclass(frozen=True, slots=True)
class Plan:
    actions: tuple[Action, ...]
    skipped: tuple[Skipped, ...]


def is_our_service(obj: LocalObject, clusters: Set[str]) -> bool:
    return obj.label(MANAGED_BY_LABEL) == MANAGED_BY and obj.label(MIRROR_CLUSTER_LABEL) in clusters


def is_our_slice(obj: LocalObject, clusters: Set[str]) -> bool:
    return obj.label(SLICE_MANAGED_BY_LABEL) == SLICE_MANAGED_BY and obj.label(MIRROR_CLUSTER_LABEL) in clusters


def desired_namespace(name: str) -> Obj:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": {CREATED_BY_LABEL: "true"}}}


def _subset(want: Mapping[str, Any], have: Any) -> bool:
    return isinstance(have, Mapping) and all(have.get(k) == v for k, v in want.items())


def _port_fields(ports: Any) -> list[tuple[str, Any, str]]:
    return [
        (str(p.get("name") or ""), p.get("port"), str(p.get("protocol") or "TCP"))
        for p in (ports if isinstance(ports, list) else [])
        if isinstance(p, Mapping)
    ]


def service_matches(existing: Mapping[str, Any], desired: Mapping[str, Any]) -> bool:
    """Whether an existing mirror Service already says what the contract says (defaults ignored)."""
    have_meta, want_meta = _meta(existing), _meta(desired)
    have_spec = existing.get("spec") if isinstance(existing.get("spec"), Mapping) else {}
    return (
        _subset(want_meta["labels"], have_meta.get("labels"))
        and _subset(want_meta["annotations"], have_meta.get("annotations"))
        and (have_spec or {}).get("type") == "ClusterIP"
        and not (have_spec or {}).get("selector")
        and _port_fields((have_spec or {}).get("ports")) == _port_fields(desired["spec"]["ports"])
    )


def _endpoint_fields(endpoints: Any) -> list[tuple[tuple[str, ...], bool]]:
    out = []
    for e in endpoints if isinstance(endpoints, list) else []:
        if not isinstance(e, Mapping):
            continue
        conditions = e.get("conditions") if isinstance(e.get("conditions"), Mapping) else {}
        out.append((tuple(str(a) for a in e.get("addresses") or []), (conditions or {}).get("ready") is True))
    return out


def slice_matches(existing: Mapping[str, Any], desired: Mapping[str, Any]) -> bool:
    return (
        _subset(_meta(desired)["labels"], _meta(existing).get("labels"))
        and existing.get("addressType") == desired["addressType"]
        and _endpoint_fields(existing.get("endpoints")) == _endpoint_fields(desired["endpoints"])
        and _port_fields(existing.get("ports")) == _port_fields(desired["ports"])
    )


def _strip(meta: Mapping[str, Any]) -> Obj:
    # managedFields left out of a PUT are kept by the API server; sent back stale, they would be rewritten.
    return {k: v for k, v in meta.items() if k != "managedFields"}


def replacement_service(existing: Mapping[str, Any], desired: Mapping[str, Any]) -> Obj:
    """The existing Service with the contract's fields put back; the API server's allocations (clusterIP) kept."""
    body = copy.deepcopy(dict(existing))
    meta = _strip(_meta(body))
    meta["labels"] = {**(meta.get("labels") or {}), **desired["metadata"]["labels"]}
    meta["annotations"] = {**(meta.get("annotations") or {}), **desired["metadata"]["annotations"]}
    spec = dict(body.get("spec") or {})
    spec.pop("selector", None)
    spec["type"] = "ClusterIP"
    spec["ports"] = copy.deepcopy(desired["spec"]["ports"])
    body.update({"apiVersion": "v1", "kind": "Service", "metadata": meta, "spec": spec})
    body.pop("status", None)
    return body


def replacement_slice(existing: Mapping[str, Any], desired: Mapping[str, Any]) -> Obj:
    meta = _strip(_meta(existing))
    meta["labels"] = {**(meta.get("labels") or {}), **desired["metadata"]["labels"]}
    body = copy.deepcopy(dict(desired))
    body["metadata"] = copy.deepcopy(meta)
    return body


def plan_mirrors(
    mirrors: Sequence[Mirror],
    clusters: Set[str],
    services: Mapping[Key, LocalObject],
    slices: Mapping[Key, LocalObject],
    namespaces: Mapping[str, NamespaceView],
) -> Plan:
    """The writes that turn the local cluster's mirrors of ``clusters`` into ``mirrors``.

    ``clusters``: every target cluster name whose mirrors this Link owns
    (the current one, and earlier ones the Link named before an edit, whose
    mirrors must go). ``services`` may hold every Service of the cluster;
    ``slices`` at least the mirror's own. Namespaces come first, then
    creates and replaces (Service before its slice), then deletes (slice
    before its Service), each in (namespace, name) order.
    """
    writes: list[Action] = []
    new_namespaces: dict[str, CreateNamespace] = {}
    skipped: list[Skipped] = []
    wanted: set[Key] = set()
    for m in mirrors:
        cluster = {m.service["metadata"]["labels"][MIRROR_CLUSTER_LABEL]}
        svc, sl = services.get(m.key), slices.get(m.key)
        if svc is not None and not is_our_service(svc, cluster):
            skipped.append(Skipped(m.namespace, m.name, "a Service of that name exists and is not a mirror of ours"))
            continue
        if sl is not None and not is_our_slice(sl, cluster):
            skipped.append(Skipped(m.namespace, m.name, "an EndpointSlice of that name exists and is not ours"))
            continue
        ns = namespaces.get(m.namespace)
        if ns is not None and ns.terminating:
            skipped.append(Skipped(m.namespace, m.name, f"namespace {m.namespace} is being deleted"))
            continue
        wanted.add(m.key)
        if ns is None and m.namespace not in new_namespaces:
            new_namespaces[m.namespace] = CreateNamespace(m.namespace, desired_namespace(m.namespace))
        if svc is None:
            writes.append(CreateObject("Service", m.namespace, m.name, m.service))
        elif not service_matches(svc.body, m.service):
            writes.append(ReplaceObject("Service", m.namespace, m.name, replacement_service(svc.body, m.service)))
        if sl is None:
            writes.append(CreateObject("EndpointSlice", m.namespace, m.name, m.endpoint_slice))
        elif sl.body.get("addressType") != m.endpoint_slice["addressType"]:
            # addressType cannot be changed in place.
            writes.append(DeleteObject("EndpointSlice", m.namespace, m.name, sl.resource_version))
            writes.append(CreateObject("EndpointSlice", m.namespace, m.name, m.endpoint_slice))
        elif not slice_matches(sl.body, m.endpoint_slice):
            body = replacement_slice(sl.body, m.endpoint_slice)
            writes.append(ReplaceObject("EndpointSlice", m.namespace, m.name, body))
    deletes: list[Action] = []
    stale_slices = {k: o for k, o in slices.items() if k not in wanted and is_our_slice(o, clusters)}
    stale_services = {k: o for k, o in services.items() if k not in wanted and is_our_service(o, clusters)}
    for key in sorted(set(stale_slices) | set(stale_services)):
        if key in stale_slices:
            deletes.append(DeleteObject("EndpointSlice", *key, stale_slices[key].resource_version))
        if key in stale_services:
            deletes.append(DeleteObject("Service", *key, stale_services[key].resource_version))
    firsts: list[Action] = [new_namespaces[n] for n in sorted(new_namespaces)]
    return Plan((*firsts, *writes, *deletes), tuple(skipped))


def plan_link(
    link: LinkSpec | None,
    clusters: Set[str],
    remote_services: Iterable[RemoteService],
    gateway: Sequence[str],
    services: Mapping[Key, LocalObject],
    slices: Mapping[Key, LocalObject],
    namespaces: Mapping[str, NamespaceView],
) -> Plan:
    """Everything at once: ``link`` None means the Link is gone, and every mirror of ``clusters`` goes with it."""
    if link is None:
        return plan_mirrors((), clusters, services, slices, namespaces)
    mirrors, left_out = desired_mirrors(link, remote_services, gateway)
    plan = plan_mirrors(mirrors, {*clusters, link.target_cluster}, services, slices, namespaces)
    return Plan(plan.actions, (*left_out, *plan.skipped))
