"""What to apply in which order, what to prune, and how to recognise our objects (pure).

Objects go to a cluster in dependency order: CRDs first (later objects may be
instances of them), then namespaces, identities and permissions, configuration,
services, workloads, custom resources, and admission webhooks last (a webhook
registered before its server is up would block pod creation).  Pruning walks
the same order backwards.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
MANAGED_BY = "meshfleet"
CLUSTER_LABEL = "fleet.meshfleet.io/cluster"
REVISION_ANNOTATION = "fleet.meshfleet.io/revision"
HASH_ANNOTATION = "fleet.meshfleet.io/content-hash"
FIELD_MANAGER = "meshfleet"

_PHASES: tuple[tuple[str, frozenset[str]], ...] = (
    ("crds", frozenset({"CustomResourceDefinition"})),
    ("namespaces", frozenset({"Namespace"})),
    ("identity", frozenset({"ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"})),
    ("config", frozenset({"ConfigMap", "Secret"})),
    ("services", frozenset({"Service"})),
    ("workloads", frozenset({"Deployment", "DaemonSet", "StatefulSet", "PodDisruptionBudget"})),
    ("webhooks", frozenset({"MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"})),
)
_CUSTOM_PHASE = len(_PHASES) - 1  # instances of CRDs go after workloads, before webhooks
PHASE_NAMES = tuple(name for name, _ in _PHASES[:-1]) + ("custom", _PHASES[-1][0])

Obj = dict[str, Any]


@dataclass(frozen=True, slots=True, order=True)
class ObjectRef:
    """The identity of one object in one cluster."""

    api_version: str
    kind: str
    namespace: str
    name: str

    @classmethod
    def of(cls, obj: Mapping[str, Any]) -> ObjectRef:
        meta = obj.get("metadata", {})
        return cls(str(obj["apiVersion"]), str(obj["kind"]), str(meta.get("namespace") or ""), str(meta["name"]))

    def __str__(self) -> str:
        return f"{self.kind} {self.namespace + '/' if self.namespace else ''}{self.name}"

    def to_json(self) -> list[str]:
        return [self.api_version, self.kind, self.namespace, self.name]

    @classmethod
    def from_json(cls, data: list[str]) -> ObjectRef:
        return cls(*data)


def phase_of(kind: str) -> int:
    """Index into PHASE_NAMES; unknown kinds are custom resources."""
    for i, (_, kinds) in enumerate(_PHASES[:-1]):
        if kind in kinds:
            return i
    if kind in _PHASES[-1][1]:
        return len(_PHASES)
    return _CUSTOM_PHASE


def ordered(objects: Iterable[Obj]) -> list[Obj]:
    """Objects in apply order; within a phase, by namespace and name for stable output."""
    return sorted(objects, key=lambda o: (phase_of(o["kind"]), ObjectRef.of(o)))


def prune_order(refs: Iterable[ObjectRef]) -> list[ObjectRef]:
    return sorted(refs, key=lambda r: (phase_of(r.kind), r), reverse=True)


def to_prune(previous: Iterable[ObjectRef], desired: Iterable[ObjectRef]) -> list[ObjectRef]:
    """What the last applied inventory had and the new revision no longer has, safest order first.

    Only objects of the inventory are candidates: anything meshfleet never
    applied is never touched.
    """
    return prune_order(set(previous) - set(desired))


def content_hash(obj: Mapping[str, Any]) -> str:
    """A digest of what we ask for, independent of our own bookkeeping annotations."""
    stripped = json.loads(json.dumps(obj))
    annotations = stripped.get("metadata", {}).get("annotations", {})
    annotations.pop(HASH_ANNOTATION, None)
    annotations.pop(REVISION_ANNOTATION, None)
    if not annotations and "annotations" in stripped.get("metadata", {}):
        del stripped["metadata"]["annotations"]
    canonical = json.dumps(stripped, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def stamp(obj: Obj, cluster: str, revision: str) -> Obj:
    """A copy of ``obj`` labelled as ours, with revision and content hash annotations."""
    out: Obj = json.loads(json.dumps(obj))
    meta = out.setdefault("metadata", {})
    meta.setdefault("labels", {}).update({MANAGED_BY_LABEL: MANAGED_BY, CLUSTER_LABEL: cluster})
    digest = content_hash(out)
    meta.setdefault("annotations", {}).update({REVISION_ANNOTATION: revision, HASH_ANNOTATION: digest})
    return out
