"""The hub without a network: what each subscription is sent as the cache changes, and refusals."""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry

from mesh.control.destination import DestinationMetrics, Hub, MeshSettings, ObjectStore, Session

from .objects import SUFFIX, endpoint_slice, identity_of, pod, service


def setup() -> tuple[Hub, ObjectStore, list[dict[str, Any]], Session]:
    store = ObjectStore()
    hub = Hub(store, MeshSettings(identity_suffix=SUFFIX), DestinationMetrics(CollectorRegistry()))
    sent: list[dict[str, Any]] = []
    session = Session(identity_of("web"), sent.append)
    hub.open(session)
    return hub, store, sent, session


def test_snapshot_then_only_the_difference_then_gone() -> None:
    hub, store, sent, session = setup()
    store.apply("services", "ADDED", service("api"))
    store.apply("endpointslices", "ADDED", endpoint_slice("api", [("10.42.0.1", None, True)]))
    hub.rebuild()
    hub.handle(session, {"op": "subscribe", "id": 1, "target": "api.shop:8080"})
    assert [m["type"] for m in sent] == ["snapshot"]
    assert [e["host"] for e in sent[0]["view"]["endpoints"]] == ["10.42.0.1"]
    hub.refresh_all()  # nothing changed: nothing sent
    assert len(sent) == 1
    store.apply(
        "endpointslices", "MODIFIED", endpoint_slice("api", [("10.42.0.1", None, True), ("10.42.0.2", None, True)])
    )
    hub.rebuild()
    hub.refresh_all()
    assert sent[-1]["type"] == "update"
    assert [e["host"] for e in sent[-1]["add"]] == ["10.42.0.2"]
    assert "remove" not in sent[-1]
    store.apply("services", "DELETED", service("api"))
    hub.rebuild()
    hub.refresh_all()
    assert sent[-1] == {"type": "gone", "id": 1}


def test_unknown_target_is_gone_until_it_appears() -> None:
    hub, store, sent, session = setup()
    hub.handle(session, {"op": "subscribe", "id": 4, "target": "10.42.0.9:80"})
    assert sent == [{"type": "gone", "id": 4}]
    store.apply("pods", "ADDED", pod("late", "10.42.0.9"))
    hub.rebuild()
    hub.refresh_all()
    assert sent[-1]["type"] == "snapshot"
    assert sent[-1]["view"]["endpoints"][0]["identity"] == identity_of("api")


def test_bad_requests_are_answered_not_raised() -> None:
    hub, _, sent, session = setup()
    hub.handle(session, {"op": "subscribe", "id": 1, "target": "no-port"})
    hub.handle(session, {"op": "subscribe", "id": "x", "target": "a:1"})
    hub.handle(session, {"op": "dance", "id": 2})
    hub.handle(session, {"op": "inbound", "id": 3})
    assert [(m["type"], m.get("code")) for m in sent] == [
        ("error", "bad-target"),
        ("error", "bad-request"),
        ("error", "bad-request"),
        ("error", "bad-request"),
    ]
    assert session.dests == {}


def test_unsubscribe_stops_updates() -> None:
    hub, store, sent, session = setup()
    store.apply("services", "ADDED", service("api"))
    hub.rebuild()
    hub.handle(session, {"op": "subscribe", "id": 1, "target": "api.shop:8080"})
    hub.handle(session, {"op": "unsubscribe", "id": 1})
    store.apply("endpointslices", "ADDED", endpoint_slice("api", [("10.42.0.1", None, True)]))
    hub.rebuild()
    hub.refresh_all()
    assert [m["type"] for m in sent] == ["snapshot"]
