"""Which namespaces hold a copy of the mesh's trust bundle, and what to write to make it so (pure).

An injected proxy mounts the ``trust-anchors`` ConfigMap of its *own*
namespace: a ConfigMap volume cannot reach across namespaces. The fleet
renders that ConfigMap into the mesh namespace (the source) and into the
demo namespace; every other meshed namespace gets a copy kept here.

A namespace needs a copy while it asks for injection (``meshfleet.io/inject:
enabled`` as a label or an annotation), still runs meshed pods, or had a pod
admitted into it moments ago (``held``: the pod watch may not have seen it
yet). A copy carries :data:`COPY_LABEL`; a ``trust-anchors`` ConfigMap
without it (the fleet's own in the demo namespace, or one a user made) is
never touched.

Copies are kept byte-for-byte equal to the source's ``data``, so a trust
anchor rotation, which waits until every ``trust-anchors`` ConfigMap of the
cluster holds the expected anchors, sees them follow the source at once.
A copy is deleted when its namespace neither asks for injection nor runs a
meshed pod: left behind, it would be one more object a rotation waits on,
for nobody.

Nothing is planned without a source: a mesh namespace that lost its bundle
is a broken mesh, and deleting or blanking copies would only spread it.
"""

from __future__ import annotations

from collections.abc import Mapping, Set
from dataclasses import dataclass
from typing import Any

from ._patch import ALWAYS_SKIPPED, INJECT, INJECTED, is_injected

COPY_LABEL = "meshfleet.io/trust-bundle-copy"
MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
# Not the fleet's "meshfleet": a copy is the injector's, never part of a rendered revision.
MANAGED_BY = "meshfleet-injector"
SOURCE_ANNOTATION = "meshfleet.io/copied-from"

Obj = dict[str, Any]


@dataclass(frozen=True, slots=True)
class BundleScope:
    """Where the source lives and what every bundle ConfigMap is called."""

    mesh_namespace: str
    name: str = "trust-anchors"

    @property
    def source_ref(self) -> str:
        return f"{self.mesh_namespace}/{self.name}"

    def never_copied_into(self, namespace: str) -> bool:
        return namespace == self.mesh_namespace or namespace in ALWAYS_SKIPPED


@dataclass(frozen=True, slots=True)
class NamespaceView:
    name: str
    wants_injection: bool
    terminating: bool


@dataclass(frozen=True, slots=True)
class BundleView:
    """One ``trust-anchors`` ConfigMap as the API server last showed it."""

    namespace: str
    data: tuple[tuple[str, str], ...]
    managed: bool  # one of our copies
    resource_version: str = ""


@dataclass(frozen=True, slots=True)
class CreateCopy:
    namespace: str
    body: Obj


@dataclass(frozen=True, slots=True)
class ReplaceCopy:
    """Overwrite a stale copy; ``body`` carries the resourceVersion it replaces, so a racing write loses."""

    namespace: str
    body: Obj


@dataclass(frozen=True, slots=True)
class DeleteCopy:
    namespace: str
    resource_version: str


CopyAction = CreateCopy | ReplaceCopy | DeleteCopy


def _meta(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    meta = obj.get("metadata")
    return meta if isinstance(meta, Mapping) else {}


def namespace_view(obj: Mapping[str, Any]) -> NamespaceView:
    meta = _meta(obj)
    choice = None
    for field in ("annotations", "labels"):  # the same precedence the injection itself uses
        value = (meta.get(field) or {}).get(INJECT)
        if value is not None:
            choice = str(value)
            break
    status = obj.get("status") if isinstance(obj.get("status"), Mapping) else {}
    terminating = bool(meta.get("deletionTimestamp")) or (status or {}).get("phase") == "Terminating"
    return NamespaceView(str(meta.get("name", "")), choice == "enabled", terminating)


def bundle_view(obj: Mapping[str, Any]) -> BundleView:
    meta = _meta(obj)
    data = obj.get("data") if isinstance(obj.get("data"), Mapping) else {}
    return BundleView(
        namespace=str(meta.get("namespace", "")),
        data=tuple(sorted((str(k), str(v)) for k, v in (data or {}).items())),
        managed=(meta.get("labels") or {}).get(COPY_LABEL) == "true",
        resource_version=str(meta.get("resourceVersion", "")),
    )


def is_meshed_pod(obj: Mapping[str, Any]) -> bool:
    """A pod that mounts its namespace's bundle: the injector gave it a proxy."""
    return (_meta(obj).get("annotations") or {}).get(INJECTED) == "true" or is_injected(obj)


def desired_copy(namespace: str, source: BundleView, scope: BundleScope, resource_version: str = "") -> Obj:
    meta: Obj = {
        "name": scope.name,
        "namespace": namespace,
        "labels": {COPY_LABEL: "true", MANAGED_BY_LABEL: MANAGED_BY},
        "annotations": {SOURCE_ANNOTATION: scope.source_ref},
    }
    if resource_version:
        meta["resourceVersion"] = resource_version
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": dict(source.data)}


def needs_copy(namespace: NamespaceView, meshed: Set[str], held: Set[str], scope: BundleScope) -> bool:
    if scope.never_copied_into(namespace.name):
        return False
    return namespace.wants_injection or namespace.name in meshed or namespace.name in held


def plan_copies(
    scope: BundleScope,
    source: BundleView | None,
    namespaces: Mapping[str, NamespaceView],
    meshed: Set[str],
    bundles: Mapping[str, BundleView],
    held: Set[str] = frozenset(),
) -> tuple[CopyAction, ...]:
    """The writes that bring every copy in line with the source, in namespace order.

    ``meshed``: namespaces with at least one meshed pod; ``bundles``: every
    ``trust-anchors`` ConfigMap by namespace (source, copies and others).
    """
    if source is None:
        return ()
    actions: list[CopyAction] = []
    for name in sorted(set(namespaces) | set(bundles)):
        if scope.never_copied_into(name):
            continue
        ns, existing = namespaces.get(name), bundles.get(name)
        if existing is None:
            # A terminating namespace refuses new objects; an unknown one is not listed yet.
            if ns is not None and not ns.terminating and needs_copy(ns, meshed, held, scope):
                actions.append(CreateCopy(name, desired_copy(name, source, scope)))
            continue
        if not existing.managed:
            continue
        if ns is not None and not ns.terminating and not needs_copy(ns, meshed, held, scope):
            actions.append(DeleteCopy(name, existing.resource_version))
        elif existing.data != source.data:
            # Even in a terminating namespace: its ConfigMap still counts until it is gone.
            actions.append(ReplaceCopy(name, desired_copy(name, source, scope, existing.resource_version)))
    return tuple(actions)
