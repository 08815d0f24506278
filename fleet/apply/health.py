"""Is a live object healthy? (pure: live object in, verdict out)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

Obj = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Health:
    ready: bool
    message: str


def _condition(obj: Obj, kind: str) -> dict[str, Any] | None:
    for c in obj.get("status", {}).get("conditions") or []:
        if c.get("type") == kind:
            return dict(c)
    return None


def is_established(crd: Obj) -> bool:
    c = _condition(crd, "Established")
    return c is not None and c.get("status") == "True"


def deployment_health(dep: Obj) -> Health:
    meta, spec, status = dep.get("metadata", {}), dep.get("spec", {}), dep.get("status", {})
    name = f"Deployment {meta.get('namespace')}/{meta.get('name')}"
    want = int(spec.get("replicas", 1))
    if int(status.get("observedGeneration", 0)) < int(meta.get("generation", 1)):
        return Health(False, f"{name}: the controller has not seen the latest spec yet")
    progressing = _condition(dep, "Progressing")
    if progressing and progressing.get("reason") == "ProgressDeadlineExceeded":
        return Health(False, f"{name}: rollout stuck ({progressing.get('message', '')})")
    updated = int(status.get("updatedReplicas", 0))
    available = int(status.get("availableReplicas", 0))
    if updated < want or available < want:
        return Health(False, f"{name}: {available}/{want} available, {updated}/{want} updated")
    return Health(True, f"{name}: {available}/{want} available")


def deployment_ready(dep: Obj) -> bool:
    return deployment_health(dep).ready
