"""Parse the fleet status document (already decoded JSON) into :mod:`tui.status.model` values.

Pure: takes Python objects, returns values or raises :class:`~tui.errors.StatusInvalid` naming
the offending field as a JSON path, e.g. ``clusters[2].meshedPods: expected an integer``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from tui.errors import StatusInvalid
from tui.status.model import Anchor, ClusterEvent, ClusterState, ClusterStatus, FleetStatus, Rotation


def parse_status_text(text: str | bytes, origin: str) -> FleetStatus:
    """Decode JSON text from ``origin`` (a path or URL, used in messages) and parse it."""
    try:
        raw = json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise StatusInvalid(f"{origin}: not JSON: {e}") from e
    return parse_status(raw, origin)


def parse_status(raw: object, origin: str = "status") -> FleetStatus:
    """Turn a decoded status document into a :class:`FleetStatus`."""
    doc = _obj(raw, origin)
    rotation_raw = doc.get("rotation") or {}
    rotation = _obj(rotation_raw, f"{origin}: rotation")
    return FleetStatus(
        generated_at=_time(doc.get("generatedAt"), f"{origin}: generatedAt"),
        anchors=tuple(
            Anchor(
                fingerprint=_str(a.get("fingerprint"), f"{origin}: anchors[{i}].fingerprint"),
                not_after=_time(a.get("notAfter"), f"{origin}: anchors[{i}].notAfter"),
            )
            for i, a in enumerate(_objs(doc.get("anchors", []), f"{origin}: anchors"))
        ),
        rotation=Rotation(phase=_opt_str(rotation.get("phase"), f"{origin}: rotation.phase")),
        clusters=tuple(
            _cluster(c, f"{origin}: clusters[{i}]")
            for i, c in enumerate(_objs(doc.get("clusters", []), f"{origin}: clusters"))
        ),
    )


def _cluster(c: Mapping[str, Any], where: str) -> ClusterStatus:
    state_raw = _str(c.get("state"), f"{where}.state")
    try:
        state = ClusterState(state_raw)
    except ValueError as e:
        allowed = ", ".join(s.value for s in ClusterState)
        raise StatusInvalid(f"{where}.state: {state_raw!r} is not one of {allowed}") from e
    urls = c.get("proxyMetricsURLs") or []
    if not isinstance(urls, list) or not all(isinstance(u, str) for u in urls):
        raise StatusInvalid(f"{where}.proxyMetricsURLs: expected a list of strings")
    return ClusterStatus(
        name=_str(c.get("name"), f"{where}.name"),
        reachable=_bool(c.get("reachable"), f"{where}.reachable"),
        state=state,
        target_revision=_str(c.get("targetRevision", ""), f"{where}.targetRevision"),
        applied_revision=_str(c.get("appliedRevision", ""), f"{where}.appliedRevision"),
        last_sync=_opt_time(c.get("lastSync"), f"{where}.lastSync"),
        message=_str(c.get("message", ""), f"{where}.message"),
        control_plane_ready=_bool(c.get("controlPlaneReady", False), f"{where}.controlPlaneReady"),
        meshed_pods=_int(c.get("meshedPods", 0), f"{where}.meshedPods"),
        total_pods=_int(c.get("totalPods", 0), f"{where}.totalPods"),
        issuer_not_after=_opt_time(c.get("issuerNotAfter"), f"{where}.issuerNotAfter"),
        prometheus_url=_opt_str(c.get("prometheusURL"), f"{where}.prometheusURL"),
        proxy_metrics_urls=tuple(urls),
        events=tuple(
            ClusterEvent(
                time=_time(e.get("time"), f"{where}.events[{j}].time"),
                type=_str(e.get("type", ""), f"{where}.events[{j}].type"),
                reason=_str(e.get("reason", ""), f"{where}.events[{j}].reason"),
                message=_str(e.get("message", ""), f"{where}.events[{j}].message"),
            )
            for j, e in enumerate(_objs(c.get("events", []), f"{where}.events"))
        ),
    )


def _obj(v: object, where: str) -> Mapping[str, Any]:
    if not isinstance(v, dict):
        raise StatusInvalid(f"{where}: expected an object")
    return v


def _objs(v: object, where: str) -> list[Mapping[str, Any]]:
    if not isinstance(v, list):
        raise StatusInvalid(f"{where}: expected a list")
    return [_obj(x, f"{where}[{i}]") for i, x in enumerate(v)]


def _str(v: object, where: str) -> str:
    if not isinstance(v, str):
        raise StatusInvalid(f"{where}: expected a string")
    return v


def _opt_str(v: object, where: str) -> str | None:
    return None if v is None else _str(v, where)


def _bool(v: object, where: str) -> bool:
    if not isinstance(v, bool):
        raise StatusInvalid(f"{where}: expected true or false")
    return v


def _int(v: object, where: str) -> int:
    # bool is an int subclass in Python; a JSON true here is a producer bug worth reporting.
    if not isinstance(v, int) or isinstance(v, bool) or v < 0:
        raise StatusInvalid(f"{where}: expected a non-negative integer")
    return v


def _time(v: object, where: str) -> datetime:
    s = _str(v, where)
    try:
        t = datetime.fromisoformat(s.replace("Z", "+00:00"))
    except ValueError as e:
        raise StatusInvalid(f"{where}: {s!r} is not an RFC 3339 time") from e
    if t.tzinfo is None:
        raise StatusInvalid(f"{where}: {s!r} has no time zone offset")
    return t


def _opt_time(v: object, where: str) -> datetime | None:
    return None if v is None or v == "" else _time(v, where)
