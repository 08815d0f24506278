"""The cluster as the destination service knows it: raw objects by collection, and indexes over them.

``ObjectStore`` is the mutable cache the watches write into. ``ClusterIndex``
is an immutable snapshot built from it, with the lookups the views need
(slices by Service, pods and Services by IP, parsed policy). Building one is
linear in the size of the cache; the hub builds one per batch of changes,
not per event.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from mesh.policy import KINDS, PolicyObject, PolicySet, parse_policy_object
from mesh.policy.errors import InvalidPolicyObject

log = logging.getLogger(__name__)

Obj = dict[str, Any]
Key = tuple[str, str]  # (namespace, name); namespace "" for cluster-scoped objects

SERVICES = "services"
ENDPOINT_SLICES = "endpointslices"
PODS = "pods"
NAMESPACES = "namespaces"
POLICY_COLLECTIONS = {
    "Server": "servers",
    "AuthorizationPolicy": "authorizationpolicies",
    "MeshTLSAuthentication": "meshtlsauthentications",
    "NetworkAuthentication": "networkauthentications",
    "HTTPRoute": "httproutes",
}
COLLECTIONS = (SERVICES, ENDPOINT_SLICES, PODS, NAMESPACES, *POLICY_COLLECTIONS.values())
SERVICE_NAME_LABEL = "kubernetes.io/service-name"


def object_key(obj: Mapping[str, Any]) -> Key:
    meta = obj.get("metadata") or {}
    return (str(meta.get("namespace") or ""), str(meta.get("name") or ""))


class ObjectStore:
    """Latest version of every watched object, by collection; ``generation`` counts changes."""

    def __init__(self) -> None:
        self._data: dict[str, dict[Key, Obj]] = {c: {} for c in COLLECTIONS}
        self.generation = 0
        self.synced: set[str] = set()

    def reset(self, collection: str, items: Iterable[Obj]) -> None:
        self._data[collection] = {object_key(o): o for o in items}
        self.synced.add(collection)
        self.generation += 1

    def apply(self, collection: str, event: str, obj: Obj) -> None:
        key = object_key(obj)
        if event == "DELETED":
            self._data[collection].pop(key, None)
        else:
            self._data[collection][key] = obj
        self.generation += 1

    def objects(self, collection: str) -> Mapping[Key, Obj]:
        return MappingProxyType(self._data[collection])


@dataclass(frozen=True, slots=True)
class ClusterIndex:
    services: Mapping[Key, Obj] = field(default_factory=dict)
    slices_by_service: Mapping[Key, tuple[Obj, ...]] = field(default_factory=dict)
    pods: Mapping[Key, Obj] = field(default_factory=dict)
    pod_by_ip: Mapping[str, Key] = field(default_factory=dict)
    service_by_ip: Mapping[str, Key] = field(default_factory=dict)
    namespaces: Mapping[str, Obj] = field(default_factory=dict)
    policies: PolicySet = field(default_factory=PolicySet)
    policy_errors: tuple[str, ...] = ()


def _cluster_ips(svc: Obj) -> list[str]:
    spec = svc.get("spec") or {}
    ips = list(spec.get("clusterIPs") or [])
    if spec.get("clusterIP") and spec["clusterIP"] not in ips:
        ips.append(spec["clusterIP"])
    return [ip for ip in ips if ip and ip != "None"]


def build_index(
    services: Mapping[Key, Obj],
    slices: Mapping[Key, Obj],
    pods: Mapping[Key, Obj],
    namespaces: Mapping[Key, Obj],
    policy_objects: Iterable[Obj],
    identity_suffix: str,
) -> ClusterIndex:
    by_service: dict[Key, list[Obj]] = {}
    for (ns, _), s in slices.items():
        owner = ((s.get("metadata") or {}).get("labels") or {}).get(SERVICE_NAME_LABEL)
        if owner:
            by_service.setdefault((ns, owner), []).append(s)
    pod_by_ip: dict[str, Key] = {}
    for key, pod in pods.items():
        status = pod.get("status") or {}
        if status.get("phase") in ("Succeeded", "Failed"):
            continue  # a finished pod's IP may already belong to another pod
        for entry in status.get("podIPs") or [{"ip": status.get("podIP")}]:
            ip = (entry or {}).get("ip")
            if ip and not ((pod.get("spec") or {}).get("hostNetwork")):
                pod_by_ip[ip] = key
    service_by_ip = {ip: key for key, svc in services.items() for ip in _cluster_ips(svc)}
    parsed: list[PolicyObject] = []
    errors: list[str] = []
    for obj in policy_objects:
        if obj.get("kind") not in KINDS:
            continue
        try:
            parsed.append(parse_policy_object(obj, identity_suffix))
        except InvalidPolicyObject as e:
            # The CRD schema refuses most of these; one that slips through is skipped, not fatal.
            errors.append(str(e))
    return ClusterIndex(
        services=services,
        slices_by_service={k: tuple(v) for k, v in by_service.items()},
        pods=pods,
        pod_by_ip=pod_by_ip,
        service_by_ip=service_by_ip,
        namespaces={name: o for (_, name), o in namespaces.items()},
        policies=PolicySet.of(parsed),
        policy_errors=tuple(errors),
    )


def index_store(store: ObjectStore, identity_suffix: str) -> ClusterIndex:
    policy_objects: list[Obj] = []
    for kind, collection in POLICY_COLLECTIONS.items():
        # Watch events of custom resources carry their kind, but be explicit: list items may not.
        policy_objects.extend({**o, "kind": kind} for o in store.objects(collection).values())
    return build_index(
        store.objects(SERVICES),
        store.objects(ENDPOINT_SLICES),
        store.objects(PODS),
        store.objects(NAMESPACES),
        policy_objects,
        identity_suffix,
    )
