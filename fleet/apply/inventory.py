"""The inventory: what meshfleet applied to a cluster, kept in the cluster itself.

It lives in a ConfigMap in kube-system, so any machine running the fleet
manager prunes exactly what was applied before, and nothing else.  Applying
a revision is ``fleet.apply.staged``.
"""

from __future__ import annotations

import json

from fleet.apply.plan import Obj, ObjectRef
from fleet.errors import GateTimeout

__all__ = ["INVENTORY_NAME", "INVENTORY_NAMESPACE", "GateTimeout", "inventory_object", "read_inventory"]
from fleet.kube.client import KubeClient

INVENTORY_NAMESPACE = "kube-system"
INVENTORY_NAME = "meshfleet-inventory"

async def read_inventory(client: KubeClient) -> tuple[set[ObjectRef], str | None]:
    """(refs, revision) of the last successful apply; empty if there was none."""
    cm = await client.get("v1", "ConfigMap", INVENTORY_NAME, INVENTORY_NAMESPACE)
    if cm is None:
        return set(), None
    data = cm.get("data") or {}
    refs = {ObjectRef.from_json(r) for r in json.loads(data.get("objects", "[]"))}
    return refs, data.get("revision")


def inventory_object(refs: set[ObjectRef], revision: str, cluster: str) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": INVENTORY_NAME, "namespace": INVENTORY_NAMESPACE,
                     "labels": {"app.kubernetes.io/managed-by": "meshfleet", "fleet.meshfleet.io/cluster": cluster}},
        "data": {"revision": revision, "objects": json.dumps([r.to_json() for r in sorted(refs)])},
    }
