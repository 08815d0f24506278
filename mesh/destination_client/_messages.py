"""The messages of the destination stream (see docs/destination-protocol.md).

Client to service: ``subscribe``, ``inbound``, ``unsubscribe``.
Service to client: ``hello``, ``snapshot``, ``update``, ``gone``, ``policy``, ``error``, ``heartbeat``.
"""

from __future__ import annotations

from ._frames import Message

VERSION = 1

OP_SUBSCRIBE = "subscribe"
OP_INBOUND = "inbound"
OP_UNSUBSCRIBE = "unsubscribe"

HELLO = "hello"
SNAPSHOT = "snapshot"
UPDATE = "update"
GONE = "gone"
POLICY = "policy"
ERROR = "error"
HEARTBEAT = "heartbeat"


def subscribe(sub_id: int, target: str) -> Message:
    return {"op": OP_SUBSCRIBE, "id": sub_id, "target": target}


def inbound(sub_id: int, namespace: str, pod: str) -> Message:
    return {"op": OP_INBOUND, "id": sub_id, "namespace": namespace, "pod": pod}


def unsubscribe(sub_id: int) -> Message:
    return {"op": OP_UNSUBSCRIBE, "id": sub_id}
