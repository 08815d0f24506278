"""Apply a revision without waiting on workloads: everything now, webhooks once their server is Ready.

A reconciler serving many clusters cannot hold a slot for minutes while
pods start, so this applies every object but the webhooks, prunes, records
the inventory, and reports the webhook configurations it held back; the
next pass registers them as soon as their Deployment is Ready.  Held-back webhooks that an earlier revision
registered stay in the inventory (they are still ours to prune later).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass

from fleet.apply.health import deployment_ready, is_established
from fleet.apply.inventory import GateTimeout, inventory_object, read_inventory
from fleet.apply.plan import FIELD_MANAGER, Obj, ObjectRef, ordered, to_prune
from fleet.kube.client import KubeClient


@dataclass(frozen=True, slots=True)
class StagedResult:
    applied: int
    pruned: tuple[ObjectRef, ...]
    held_back: tuple[ObjectRef, ...]  # webhook configurations waiting for their server
    seconds: float


INJECT_LABEL = "meshfleet.io/inject"
_POD_MAKERS = frozenset({"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob", "Pod"})


def meshed_workloads(desired: Sequence[Obj]) -> list[Obj]:
    """Workloads in namespaces of this revision that ask for injection.

    Their pods must be created after the injector's webhook is registered, or they
    start without a proxy and stay outside the mesh until something restarts them.
    """
    injected = {o["metadata"]["name"] for o in desired if o["kind"] == "Namespace"
                and (o["metadata"].get("labels") or {}).get(INJECT_LABEL) == "enabled"}
    return [o for o in desired if o["kind"] in _POD_MAKERS and o["metadata"].get("namespace") in injected]


def _webhook_deployments(webhook: Obj, desired: Sequence[Obj]) -> list[Obj]:
    services = {(h["clientConfig"]["service"]["namespace"], h["clientConfig"]["service"]["name"])
                for h in webhook.get("webhooks", []) if h.get("clientConfig", {}).get("service")}
    return [o for o in desired if o["kind"] == "Deployment"
            and (o["metadata"].get("namespace"), o["metadata"]["name"]) in services]


async def servers_ready(client: KubeClient, webhook: Obj, desired: Sequence[Obj]) -> bool:
    for dep in _webhook_deployments(webhook, desired):
        live = await client.get("apps/v1", "Deployment", dep["metadata"]["name"], dep["metadata"]["namespace"])
        if live is None or not deployment_ready(live):
            return False
    return True


async def wait_established(client: KubeClient, names: Sequence[str], limit: float) -> None:
    deadline = time.monotonic() + limit
    pending = set(names)
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


async def apply_staged(client: KubeClient, cluster: str, revision: str, objects: Sequence[Obj], *,
                       extra: Sequence[Obj] = (), crd_timeout: float = 60.0) -> StagedResult:
    """Apply ``objects`` (and ``extra``, applied with them but kept out of the inventory: Secrets).

    Raises ``fleet.kube.errors.KubeError`` (Unreachable, Invalid, ...) or
    GateTimeout; the inventory is then left as it was, so the next attempt
    prunes against the last complete apply.
    """
    t0 = time.monotonic()
    previous, _ = await read_inventory(client)
    desired = ordered(objects)
    webhooks = [o for o in desired if o["kind"].endswith("WebhookConfiguration")]
    meshed = meshed_workloads(desired)
    rest = ordered([o for o in desired if o not in webhooks and o not in meshed] + list(extra))
    crds = [o["metadata"]["name"] for o in rest if o["kind"] == "CustomResourceDefinition"]
    waited = not crds
    for obj in rest:
        if not waited and obj["kind"] != "CustomResourceDefinition":
            await wait_established(client, crds, crd_timeout)
            waited = True
        await client.apply(obj, FIELD_MANAGER)
    if not waited:
        await wait_established(client, crds, crd_timeout)
    held: list[ObjectRef] = []
    for hook in webhooks:
        if await servers_ready(client, hook, desired):
            await client.apply(hook, FIELD_MANAGER)
        else:
            held.append(ObjectRef.of(hook))
    if held:
        held += [ObjectRef.of(o) for o in meshed]
    else:
        for obj in meshed:
            await client.apply(obj, FIELD_MANAGER)
    desired_refs = {ObjectRef.of(o) for o in desired}
    pruned: list[ObjectRef] = []
    for ref in to_prune(previous, desired_refs):
        if await client.delete(ref.api_version, ref.kind, ref.name, ref.namespace or None):
            pruned.append(ref)
    recorded = (desired_refs - set(held)) | (set(held) & previous)
    await client.apply(inventory_object(recorded, revision, cluster), FIELD_MANAGER)
    return StagedResult(len(desired) - len(held), tuple(pruned), tuple(held), time.monotonic() - t0)


async def register_webhooks(client: KubeClient, cluster: str, revision: str, objects: Sequence[Obj]
                            ) -> tuple[ObjectRef, ...]:
    """Register the held-back webhook configurations whose server is Ready now; returns what is still held.

    Once no webhook is held, the meshed workloads held with them are applied too.
    Touches nothing else, so a cluster that only reports drift keeps its edits.
    """
    desired = ordered(objects)
    held: list[ObjectRef] = []
    registered: set[ObjectRef] = set()
    for hook in (o for o in desired if o["kind"].endswith("WebhookConfiguration")):
        ref = ObjectRef.of(hook)
        if await client.get(ref.api_version, ref.kind, ref.name) is not None:
            continue
        if await servers_ready(client, hook, desired):
            await client.apply(hook, FIELD_MANAGER)
            registered.add(ref)
        else:
            held.append(ref)
    meshed = meshed_workloads(desired)
    if held:
        held += [ObjectRef.of(o) for o in meshed]
    else:
        for obj in meshed:
            await client.apply(obj, FIELD_MANAGER)
            registered.add(ObjectRef.of(obj))
    if registered:
        previous, _ = await read_inventory(client)
        await client.apply(inventory_object(previous | registered, revision, cluster), FIELD_MANAGER)
    return tuple(held)
