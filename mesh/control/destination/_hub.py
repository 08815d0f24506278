"""Subscriptions and fan-out: every stream's subscriptions, recomputed and diffed after each batch of changes.

Watch handlers only mark the hub dirty. The hub waits a moment so a burst
of events (a rollout touches a slice and several pods) becomes one rebuild,
builds a new ``ClusterIndex``, and for every subscription computes the new
view, diffs it against the last one sent, and writes the difference. A view
is computed once per target per rebuild however many proxies watch it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from mesh.destination_client import DestinationView, diff_views, messages, view_to_wire
from mesh.destination_client import Message as Msg
from mesh.policy import InboundPolicy, inbound_to_wire

from ._cluster import ClusterIndex, ObjectStore, index_store
from ._compute import MeshSettings, destination_view, inbound_policy, pod_identity
from ._metrics import DestinationMetrics
from .errors import BadTarget

log = logging.getLogger(__name__)


@dataclass(slots=True)
class _DestSub:
    target: str
    last: DestinationView | None = None
    answered: bool = False


@dataclass(slots=True)
class _PolicySub:
    namespace: str
    pod: str
    last: InboundPolicy | None = None
    refused: bool = False


@dataclass(slots=True, eq=False)  # identity equality: sessions live in a set
class Session:
    """One proxy's stream: who it is and what it asked for."""

    peer: str  # the client's verified mesh identity
    send: Callable[[Msg], None]
    dests: dict[int, _DestSub] = field(default_factory=dict)
    policies: dict[int, _PolicySub] = field(default_factory=dict)


class Hub:
    def __init__(
        self,
        store: ObjectStore,
        settings: MeshSettings,
        metrics: DestinationMetrics,
        *,
        settle: float = 0.02,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.settings = settings
        self.metrics = metrics
        self.index = ClusterIndex()
        self.sessions: set[Session] = set()
        self._settle = settle
        self._clock = clock
        self._dirty = asyncio.Event()
        self._dirty_since: float | None = None
        self._built_generation = -1

    # -- input from the watches ---------------------------------------------------------------

    def changed(self) -> None:
        if self._dirty_since is None:
            self._dirty_since = self._clock()
        self._dirty.set()

    def rebuild(self) -> None:
        if self.store.generation == self._built_generation:
            return
        self._built_generation = self.store.generation
        self.index = index_store(self.store, self.settings.identity_suffix)
        self.metrics.policy_errors.set(len(self.index.policy_errors))
        for err in self.index.policy_errors:
            log.warning("policy object skipped: %s", err)

    async def run(self) -> None:
        while True:
            await self._dirty.wait()
            await asyncio.sleep(self._settle)
            self._dirty.clear()
            since, self._dirty_since = self._dirty_since, None
            self.rebuild()
            self.refresh_all()
            if since is not None:
                self.metrics.fanout.observe(self._clock() - since)

    # -- sessions -----------------------------------------------------------------------------------

    def open(self, session: Session) -> None:
        self.sessions.add(session)
        self.metrics.streams.set(len(self.sessions))

    def close(self, session: Session) -> None:
        self.sessions.discard(session)
        self.metrics.streams.set(len(self.sessions))
        self._count()

    def _count(self) -> None:
        self.metrics.subscriptions.labels(kind="destination").set(sum(len(s.dests) for s in self.sessions))
        self.metrics.subscriptions.labels(kind="inbound").set(sum(len(s.policies) for s in self.sessions))

    def _emit(self, session: Session, msg: Msg) -> None:
        self.metrics.messages.labels(type=str(msg.get("type"))).inc()
        session.send(msg)

    def _refuse(self, session: Session, sub_id: object, code: str, message: str) -> None:
        self.metrics.refused.labels(code=code).inc()
        self._emit(session, {"type": messages.ERROR, "id": sub_id, "code": code, "message": message})

    def handle(self, session: Session, msg: Msg) -> None:
        """One client message; bad ones are answered with an error, never raised."""
        op, sub_id = msg.get("op"), msg.get("id")
        if not isinstance(sub_id, int) or isinstance(sub_id, bool):
            self._refuse(session, sub_id, "bad-request", "every message needs an integer id")
            return
        if op == messages.OP_SUBSCRIBE:
            target = msg.get("target")
            if not isinstance(target, str):
                self._refuse(session, sub_id, "bad-request", "subscribe needs a target")
                return
            sub = _DestSub(target)
            session.dests[sub_id] = sub
            self._refresh_dest(session, sub_id, sub, {})
        elif op == messages.OP_INBOUND:
            ns, pod = msg.get("namespace"), msg.get("pod")
            if not isinstance(ns, str) or not isinstance(pod, str):
                self._refuse(session, sub_id, "bad-request", "inbound needs namespace and pod")
                return
            psub = _PolicySub(ns, pod)
            session.policies[sub_id] = psub
            self._refresh_policy(session, sub_id, psub)
        elif op == messages.OP_UNSUBSCRIBE:
            session.dests.pop(sub_id, None)
            session.policies.pop(sub_id, None)
        else:
            self._refuse(session, sub_id, "bad-request", f"unknown op {op!r}")
        self._count()

    # -- recomputation ----------------------------------------------------------------------------

    def refresh_all(self) -> None:
        cache: dict[str, DestinationView | None] = {}
        for session in list(self.sessions):
            for sub_id, sub in list(session.dests.items()):
                self._refresh_dest(session, sub_id, sub, cache)
            for sub_id, psub in list(session.policies.items()):
                self._refresh_policy(session, sub_id, psub)

    def _refresh_dest(
        self, session: Session, sub_id: int, sub: _DestSub, cache: dict[str, DestinationView | None]
    ) -> None:
        if sub.target in cache:
            view = cache[sub.target]
        else:
            try:
                view = destination_view(sub.target, self.index, self.settings)
            except BadTarget as e:
                session.dests.pop(sub_id, None)
                self._refuse(session, sub_id, "bad-target", str(e))
                return
            cache[sub.target] = view
        if view is None:
            if sub.last is not None or not sub.answered:
                self._emit(session, {"type": messages.GONE, "id": sub_id})
        elif sub.last is None:
            self._emit(session, {"type": messages.SNAPSHOT, "id": sub_id, "view": view_to_wire(view)})
        else:
            update = diff_views(sub.last, view)
            if update is not None:
                self._emit(session, {"type": messages.UPDATE, "id": sub_id, **update})
        sub.last = view
        sub.answered = True

    def _refresh_policy(self, session: Session, sub_id: int, psub: _PolicySub) -> None:
        pod = self.index.pods.get((psub.namespace, psub.pod))
        if pod is None:
            return  # the pod is not in our cache yet; its policy follows when it is
        owner = pod_identity(pod, self.settings)
        if owner != session.peer:
            # Policy names who may call a pod; only that pod's own proxy gets to read it.
            if not psub.refused:
                psub.refused = True
                self._refuse(
                    session,
                    sub_id,
                    "forbidden",
                    f"{session.peer} is not the identity of pod {psub.namespace}/{psub.pod}",
                )
            return
        psub.refused = False
        policy = inbound_policy(psub.namespace, psub.pod, self.index, self.settings)
        if policy is not None and policy != psub.last:
            psub.last = policy
            self._emit(session, {"type": messages.POLICY, "id": sub_id, "policy": inbound_to_wire(policy)})

    def heartbeat(self) -> None:
        for session in list(self.sessions):
            session.send({"type": messages.HEARTBEAT})
