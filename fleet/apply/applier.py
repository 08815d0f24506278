"""Apply one revision's objects to one cluster: ordered server-side apply, gates, inventory, prune.

The inventory of what meshfleet applied lives in the cluster itself (a
ConfigMap in kube-system), so any machine running the fleet manager prunes
exactly what was applied before, and nothing else.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from fleet.apply.health import deployment_ready, is_established
from fleet.apply.plan import FIELD_MANAGER, Obj, ObjectRef, ordered, phase_of, to_prune
from fleet.kube.client import KubeClient
from fleet.kube.errors import APIError

INVENTORY_NAMESPACE = "kube-system"
INVENTORY_NAME = "meshfleet-inventory"

Progress = Callable[[str], None]


class GateTimeout(Exception):
    """A CRD never became Established, or a webhook's server never became Ready."""


@dataclass(frozen=True, slots=True)
class ApplyResult:
    applied: int
    pruned: tuple[ObjectRef, ...]
    seconds: float


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


async def apply_revision(client: KubeClient, cluster: str, revision: str, objects: Sequence[Obj],
                         progress: Progress = lambda _m: None, gate_timeout: float = 60.0) -> ApplyResult:
    """Bring the cluster to ``objects``; the inventory is written only after everything is applied."""
    t0 = time.monotonic()
    previous, _ = await read_inventory(client)
    desired = ordered(objects)
    webhooks = [o for o in desired if o["kind"].endswith("WebhookConfiguration")]
    rest = [o for o in desired if o not in webhooks]
    crds: list[Obj] = []
    current_phase = -1
    for obj in rest:
        phase = phase_of(obj["kind"])
        if phase != current_phase and crds and obj["kind"] != "CustomResourceDefinition":
            await _wait_established(client, crds, gate_timeout)
            crds = []
        current_phase = phase
        await client.apply(obj, FIELD_MANAGER)
        if obj["kind"] == "CustomResourceDefinition":
            crds.append(obj)
    if crds:
        await _wait_established(client, crds, gate_timeout)
    if webhooks:
        await _wait_webhook_servers(client, desired, webhooks, gate_timeout, progress)
        for obj in webhooks:
            await client.apply(obj, FIELD_MANAGER)
    refs = {ObjectRef.of(o) for o in desired}
    pruned = []
    for ref in to_prune(previous, refs):
        if await client.delete(ref.api_version, ref.kind, ref.name, ref.namespace or None):
            pruned.append(ref)
            progress(f"{cluster}: pruned {ref}")
    await client.apply(inventory_object(refs, revision, cluster), FIELD_MANAGER)
    return ApplyResult(len(desired), tuple(pruned), time.monotonic() - t0)


async def _wait_established(client: KubeClient, crds: list[Obj], limit: float) -> None:
    deadline = time.monotonic() + limit
    pending = {o["metadata"]["name"] for o in crds}
    while pending:
        for name in sorted(pending):
            live = await client.get("apiextensions.k8s.io/v1", "CustomResourceDefinition", name)
            if live is not None and is_established(live):
                pending.discard(name)
        if not pending:
            return
        if time.monotonic() > deadline:
            raise GateTimeout(f"CustomResourceDefinition {', '.join(sorted(pending))} not Established "
                              f"after {limit:.0f}s")
        await asyncio.sleep(0.2)


def _webhook_services(webhooks: list[Obj]) -> set[tuple[str, str]]:
    out = set()
    for wh in webhooks:
        for hook in wh.get("webhooks", []):
            svc = hook.get("clientConfig", {}).get("service")
            if svc:
                out.add((svc["namespace"], svc["name"]))
    return out


async def _wait_webhook_servers(client: KubeClient, desired: list[Obj], webhooks: list[Obj], limit: float,
                                progress: Progress) -> None:
    """Register a webhook only when the Deployment behind its Service is Ready."""
    services = _webhook_services(webhooks)
    deployments = [o for o in desired if o["kind"] == "Deployment"
                   and (o["metadata"].get("namespace"), o["metadata"]["name"]) in services]
    deadline = time.monotonic() + limit
    for dep in deployments:
        ns, name = dep["metadata"]["namespace"], dep["metadata"]["name"]
        while True:
            try:
                live = await client.get("apps/v1", "Deployment", name, ns)
            except APIError:
                live = None
            if live is not None and deployment_ready(live):
                break
            if time.monotonic() > deadline:
                raise GateTimeout(f"Deployment {ns}/{name} (behind a webhook) not Ready after {limit:.0f}s; "
                                  "the webhook configuration was not registered")
            await asyncio.sleep(0.5)
        progress(f"webhook server {ns}/{name} is Ready")
