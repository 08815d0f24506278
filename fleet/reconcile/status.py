"""The fleet status document the dashboard reads, and each cluster's own status object (pure).

Document shape (JSON)::

    {"generatedAt", "anchors": [{"fingerprint", "notAfter"}], "rotation": {"phase"},
     "rollout": {"revision", "phase", "message"},
     "clusters": [{"name", "reachable", "state", "targetRevision", "appliedRevision", "lastSync",
                   "message", "controlPlaneReady", "meshedPods", "totalPods", "issuerNotAfter",
                   "prometheusURL", "proxyMetricsURLs", "events", "drift"}]}
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from fleet.config import ClusterConfig, TrustAnchor
from fleet.reconcile.model import ClusterState, ClusterStatus, Event
from fleet.reconcile.waves import RolloutPlan
from mesh.pki import fingerprint

Obj = dict[str, Any]
STATUS_NAMESPACE = "kube-system"
STATUS_NAME = "meshfleet-status"
STATUS_KEY = "status.json"


def _time(t: datetime | None) -> str | None:
    return None if t is None else t.isoformat().replace("+00:00", "Z")


def _event(e: Event) -> Obj:
    return {"time": _time(e.time), "type": e.type, "reason": e.reason, "message": e.message}


def cluster_entry(status: ClusterStatus, config: ClusterConfig | None = None) -> Obj:
    return {
        "name": status.name,
        "reachable": status.reachable,
        "state": str(status.state),
        "targetRevision": status.target_revision,
        "appliedRevision": status.applied_revision,
        "lastSync": _time(status.last_sync),
        "message": status.message,
        "controlPlaneReady": status.control_plane_ready,
        "meshedPods": status.meshed_pods,
        "totalPods": status.total_pods,
        "issuerNotAfter": _time(status.issuer_not_after),
        "prometheusURL": config.prometheus if config else None,
        "proxyMetricsURLs": [],
        "events": [_event(e) for e in status.events],
        "drift": [d.describe() for d in status.drift],
    }


def document(statuses: Sequence[ClusterStatus], configs: Mapping[str, ClusterConfig],
             anchors: Sequence[TrustAnchor], now: datetime, rollout: RolloutPlan | None = None) -> Obj:
    doc: Obj = {
        "generatedAt": _time(now),
        "anchors": [{"fingerprint": fingerprint(a.certificate), "notAfter": _time(a.certificate.not_valid_after_utc)}
                    for a in anchors],
        "rotation": {"phase": None},
        "clusters": [cluster_entry(s, configs.get(s.name)) for s in sorted(statuses, key=lambda s: s.name)],
    }
    if rollout is not None:
        doc["rollout"] = {"revision": rollout.revision, "phase": str(rollout.phase), "message": rollout.message}
    return doc


def status_object(status: ClusterStatus, config: ClusterConfig | None = None) -> Obj:
    """The ConfigMap through which a cluster carries its own status (read by ``meshfleet status``)."""
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": STATUS_NAME, "namespace": STATUS_NAMESPACE,
                     "labels": {"app.kubernetes.io/managed-by": "meshfleet",
                                "fleet.meshfleet.io/cluster": status.name}},
        "data": {STATUS_KEY: json.dumps(cluster_entry(status, config), indent=2, sort_keys=True)},
    }


def entry_from_object(obj: Mapping[str, Any] | None) -> Obj | None:
    """The cluster entry a status ConfigMap holds, or None when there is none or it is unreadable."""
    if obj is None:
        return None
    try:
        entry = json.loads((obj.get("data") or {}).get(STATUS_KEY, ""))
    except ValueError:
        return None
    return entry if isinstance(entry, dict) and entry.get("state") in {s.value for s in ClusterState} else None


def table(entries: Sequence[Mapping[str, Any]]) -> str:
    """``meshfleet status`` as a table: one row per cluster."""
    header = ("CLUSTER", "STATE", "APPLIED", "TARGET", "LAST SYNC", "MESSAGE")
    rows = [header] + [
        (str(e["name"]), str(e["state"]), str(e.get("appliedRevision") or "-")[:12],
         str(e.get("targetRevision") or "-")[:12], str(e.get("lastSync") or "-"), str(e.get("message") or ""))
        for e in entries
    ]
    widths = [max(len(r[i]) for r in rows) for i in range(len(header) - 1)]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r[:-1], widths, strict=True)) + "  " + r[-1]
                     for r in rows).rstrip() + "\n"
