"""One cluster, one pass: apply a revision, or check an applied one for drift and health.

The thin async shell around the pure pieces: it reads and writes the API
server through ``KubeClient`` and hands every decision to ``machine``,
``health``, ``secrets`` and ``fleet.apply.drift``.  Every failure becomes a
cluster state; nothing raised here escapes to stall other clusters.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from fleet.apply.diff import drift_of, predict
from fleet.apply.drift import Drift
from fleet.apply.inventory import GateTimeout
from fleet.apply.plan import FIELD_MANAGER, ObjectRef
from fleet.apply.staged import apply_staged, meshed_workloads, register_webhooks
from fleet.config import ClusterConfig, DriftMode, TrustAnchor
from fleet.errors import KeystoreError
from fleet.kube.client import KubeClient
from fleet.kube.errors import APIError, KubeError, Unreachable
from fleet.reconcile import machine
from fleet.reconcile.backoff import Backoff
from fleet.reconcile.health import assess, checked_refs
from fleet.reconcile.metrics import ReconcileMetrics
from fleet.reconcile.model import ClusterStatus, Health
from fleet.reconcile.status import STATUS_NAMESPACE, status_object
from fleet.trust.secrets import injector_tls_secret, issuer_secret, not_after, secrets_to_renew
from mesh.manifests import INJECTOR_TLS_SECRET, ISSUER_SECRET
from mesh.pki import CertificateAuthority

Obj = dict[str, Any]
AuthoritySource = Callable[[], CertificateAuthority]  # raises KeystoreError when the anchor key is unavailable


@dataclass(frozen=True, slots=True)
class Target:
    """What one cluster should run: the rendered objects of one revision and what the Secrets need."""

    config: ClusterConfig
    revision: str
    objects: tuple[Obj, ...]
    anchors: tuple[TrustAnchor, ...]
    bundle: bytes
    namespace: str
    trust_domain: str


class ClusterSync:
    def __init__(self, client: KubeClient, authority: AuthoritySource, metrics: ReconcileMetrics,
                 backoff: Backoff, clock: Callable[[], datetime]) -> None:
        self.client = client
        self._authority = authority
        self._metrics = metrics
        self._backoff = backoff
        self._clock = clock

    # -- secrets ---------------------------------------------------------------------------------------

    async def _secrets(self, target: Target) -> tuple[list[Obj], list[str], str | None, datetime | None]:
        """(Secrets to apply, Secrets that stay missing, why, issuer expiry)."""
        existing = {name: await self.client.get("v1", "Secret", name, target.namespace)
                    for name in (ISSUER_SECRET, INJECTOR_TLS_SECRET)}
        now = self._clock()
        renew = secrets_to_renew(existing, target.anchors, now)
        issuer_expiry = not_after(existing[ISSUER_SECRET])
        if not renew:
            return [], [], None, issuer_expiry
        try:
            ca = self._authority()
        except KeystoreError as e:
            # Secrets that exist but are due for renewal keep serving; only absent ones are missing.
            missing = [name for name, reason in renew.items()
                       if existing[name] is None or reason.startswith("does not chain")]
            why = f"cannot make {', '.join(sorted(renew))} ({'; '.join(renew.values())}): {e}"
            return [], missing, why, issuer_expiry
        made: list[Obj] = []
        name = target.config.name
        if ISSUER_SECRET in renew:
            made.append(issuer_secret(ca, name, target.namespace, target.trust_domain, target.bundle, now))
            issuer_expiry = not_after(made[-1])
        if INJECTOR_TLS_SECRET in renew:
            made.append(injector_tls_secret(ca, name, target.namespace, now))
        return made, [], None, issuer_expiry

    # -- health ----------------------------------------------------------------------------------------

    async def _health(self, target: Target, missing: Sequence[str], issuer_expiry: datetime | None,
                      held: bool = False) -> Health:
        # Workloads held back until the injector's webhook is registered are not missing: not yet due.
        waiting = {id(o) for o in meshed_workloads(target.objects)} if held else set()
        objects = [o for o in target.objects if id(o) not in waiting]
        live: dict[ObjectRef, Obj | None] = {}
        for ref in checked_refs(objects):
            live[ref] = await self.client.get(ref.api_version, ref.kind, ref.name, ref.namespace or None)
        try:
            pods = await self.client.list("v1", "Pod")
        except APIError:
            pods = []
        return assess(objects, live, missing_secrets=missing, issuer_not_after=issuer_expiry, pods=pods,
                      mesh_namespace=target.namespace)

    # -- passes ----------------------------------------------------------------------------------------

    async def apply(self, status: ClusterStatus, target: Target, commit_time: datetime | None = None
                    ) -> ClusterStatus:
        """Bring the cluster to ``target``; returns the cluster's next status."""
        name, revision = target.config.name, target.revision
        with self._metrics.duration.labels(cluster=name).time():
            try:
                secrets, missing, why, issuer_expiry = await self._secrets(target)
                result = await apply_staged(self.client, name, revision, target.objects, extra=secrets)
                health = await self._health(target, missing, issuer_expiry, held=bool(result.held_back))
            except Unreachable as e:
                self._metrics.errors.labels(cluster=name, reason="unreachable").inc()
                return machine.unreachable(status, revision, str(e), self._clock(), self._backoff)
            except (KubeError, GateTimeout) as e:
                self._metrics.errors.labels(cluster=name, reason=type(e).__name__).inc()
                return machine.failed(status, revision, str(e), self._clock(), self._backoff)
        now = self._clock()
        if commit_time is not None and status.applied_revision != revision:
            self._metrics.commit_to_applied.labels(cluster=name).set(max(0.0, (now - commit_time).total_seconds()))
        if why is not None and missing:
            return machine.degraded(status, revision, why, now, self._backoff)
        new = machine.applied(status, revision, health, now, held_back=len(result.held_back),
                              pruned=len(result.pruned))
        return replace(new, drift=())

    async def check(self, status: ClusterStatus, target: Target, commit_time: datetime | None = None
                    ) -> ClusterStatus:
        """At the applied revision: look for drift (correcting it unless the cluster says report) and health."""
        name = target.config.name
        # A webhook still held back for its server is not drift: it was never registered; nor are
        # the meshed workloads held back with it.
        waiting = {id(o) for o in meshed_workloads(target.objects)} if status.held_back else set()
        objects = [o for o in target.objects
                   if not (status.held_back and o["kind"].endswith("WebhookConfiguration")) and id(o) not in waiting]
        try:
            with self._metrics.duration.labels(cluster=name).time():
                drift = tuple(drift_of(await predict(self.client, objects)))
        except Unreachable as e:
            self._metrics.errors.labels(cluster=name, reason="unreachable").inc()
            return machine.unreachable(status, target.revision, str(e), self._clock(), self._backoff)
        except KubeError as e:
            self._metrics.errors.labels(cluster=name, reason=type(e).__name__).inc()
            return machine.failed(status, target.revision, str(e), self._clock(), self._backoff)
        self._metrics.drift_objects.labels(cluster=name).set(len(drift))
        correct = target.config.settings.drift is DriftMode.CORRECT
        if drift:
            self._metrics.drift_detected.labels(cluster=name, action="corrected" if correct else "reported").inc(
                len(drift))
            await self.post_drift_events(target, drift, corrected=correct)
        if drift and correct:
            new = await self.apply(status, target, commit_time)
            return machine.drifted(new, drift, True, self._clock())
        status = machine.drifted(status, drift, False, self._clock())
        try:
            held = status.held_back
            if held:
                held = len(await register_webhooks(self.client, name, target.revision, target.objects))
            secrets, missing, why, issuer_expiry = await self._secrets(target)
            for secret in secrets:  # renewal due: apply the new Secrets without touching anything else
                await self.client.apply(secret, FIELD_MANAGER)
            health = await self._health(target, missing, issuer_expiry, held=bool(held))
        except Unreachable as e:
            return machine.unreachable(status, target.revision, str(e), self._clock(), self._backoff)
        except (KubeError, GateTimeout) as e:
            return machine.failed(status, target.revision, str(e), self._clock(), self._backoff)
        if why is not None and missing:
            return machine.degraded(status, target.revision, why, self._clock(), self._backoff)
        return machine.observed(replace(status, held_back=held), health, drift, self._clock())

    # -- reporting -------------------------------------------------------------------------------------

    async def post_drift_events(self, target: Target, drift: Sequence[Drift], *, corrected: bool) -> None:
        for d in drift:
            reason = "DriftCorrected" if corrected else "DriftDetected"
            await self.post_event(d.ref, reason, d.describe(), "Warning")

    async def post_event(self, ref: ObjectRef, reason: str, message: str, type_: str = "Normal") -> None:
        """A Kubernetes Event on ``ref`` (in its namespace, or kube-system for cluster-scoped objects)."""
        now = self._clock()
        namespace = ref.namespace or STATUS_NAMESPACE
        digest = hashlib.sha256(f"{ref}{reason}{now.isoformat()}".encode()).hexdigest()[:10]
        stamp = now.isoformat().replace("+00:00", "Z")
        event: Obj = {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"name": f"meshfleet.{ref.name}.{digest}", "namespace": namespace},
            "involvedObject": {"apiVersion": ref.api_version, "kind": ref.kind, "name": ref.name,
                               **({"namespace": ref.namespace} if ref.namespace else {})},
            "reason": reason,
            "message": message,
            "type": type_,
            "source": {"component": "meshfleet"},
            "firstTimestamp": stamp,
            "lastTimestamp": stamp,
            "count": 1,
        }
        try:
            await self.client.apply(event, FIELD_MANAGER)
        except KubeError:
            pass  # an Event is a courtesy; the status and the metric already carry the finding

    async def write_status(self, status: ClusterStatus, config: ClusterConfig) -> None:
        try:
            await self.client.apply(status_object(status, config), FIELD_MANAGER)
        except KubeError:
            pass  # the cluster is unreachable or refuses; its status lives on in the fleet document

