"""The verdict on one cluster's live mesh (pure: live objects in, a Health out).

Ready needs every desired Deployment available at its latest generation,
every CRD Established, every Service present with an address, and the
Secrets the components mount.  A Deployment still rolling out is
Progressing; one whose rollout is stuck, or anything missing, is Degraded.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from fleet.apply.health import deployment_health, is_established
from fleet.apply.plan import ObjectRef
from fleet.reconcile.model import ClusterState, Health
from mesh.wellknown import PROXY_CONTAINER

Obj = dict[str, Any]


def _service_problem(live: Obj) -> str | None:
    spec = live.get("spec") or {}
    if spec.get("type", "ClusterIP") != "ExternalName" and not spec.get("clusterIP"):
        return "has no cluster IP yet"
    return None


def count_pods(pods: Sequence[Obj], mesh_namespace: str = "") -> tuple[int, int]:
    """(meshed, total) over running or pending pods; a pod is meshed when it carries the proxy container.

    The injector adds the proxy as a native sidecar, so it is among the init containers. Pods of the
    mesh namespace are not counted: the control plane and the gateway run without a sidecar by design
    (the gateway is a proxy itself), and would otherwise keep every cluster short of fully meshed.
    """
    live = [p for p in pods if (p.get("status") or {}).get("phase") not in ("Succeeded", "Failed")
            and (p.get("metadata") or {}).get("namespace") != mesh_namespace]

    def has_proxy(pod: Obj) -> bool:
        spec = pod.get("spec") or {}
        return any(c.get("name") == PROXY_CONTAINER
                   for c in [*spec.get("containers", []), *spec.get("initContainers", [])])

    meshed = sum(1 for p in live if has_proxy(p))
    return meshed, len(live)


def assess(desired: Sequence[Obj], live: Mapping[ObjectRef, Obj | None], *, missing_secrets: Sequence[str] = (),
           issuer_not_after: datetime | None = None, pods: Sequence[Obj] = (), mesh_namespace: str = "") -> Health:
    """Health of the mesh given the live copy (None when absent) of each desired object worth checking."""
    degraded: list[str] = [f"Secret {name} is missing" for name in missing_secrets]
    progressing: list[str] = []
    deployments_ready = True
    for obj in desired:
        ref = ObjectRef.of(obj)
        if ref not in live:
            continue
        current = live[ref]
        if current is None:
            degraded.append(f"{ref} is missing")
            deployments_ready = deployments_ready and ref.kind != "Deployment"
            continue
        if ref.kind == "Deployment":
            verdict = deployment_health(current)
            if not verdict.ready:
                deployments_ready = False
                (degraded if "stuck" in verdict.message else progressing).append(verdict.message)
        elif ref.kind == "CustomResourceDefinition" and not is_established(current):
            progressing.append(f"{ref} is not Established yet")
        elif ref.kind == "Service" and (problem := _service_problem(current)):
            progressing.append(f"{ref} {problem}")
    meshed, total = count_pods(pods, mesh_namespace)
    ready = deployments_ready and not degraded
    if degraded:
        state, message = ClusterState.DEGRADED, "; ".join(degraded + progressing)
    elif progressing:
        state, message = ClusterState.PROGRESSING, "; ".join(progressing)
    else:
        state, message = ClusterState.READY, "every component is Ready"
    return Health(state, message, ready, issuer_not_after, meshed, total)


def checked_refs(desired: Sequence[Obj]) -> list[ObjectRef]:
    """The objects whose live state decides health."""
    return [ObjectRef.of(o) for o in desired if o["kind"] in ("Deployment", "CustomResourceDefinition", "Service")]
