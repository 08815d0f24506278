"""Fixture fleet for screen, Pilot and --once tests: three clusters in three conditions."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from tui.data import ClusterDetail, ClusterView, FleetView, MetricsSource
from tui.metrics import ClusterMetrics, Rate, summarize
from tui.status import parse_status

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def status_doc() -> dict[str, Any]:
    def cluster(name: str, **kw: Any) -> dict[str, Any]:
        base: dict[str, Any] = {
            "name": name, "reachable": True, "state": "Ready", "targetRevision": "a1b2c3d4e5",
            "appliedRevision": "a1b2c3d4e5", "lastSync": "2026-11-20T11:59:30Z", "message": "",
            "controlPlaneReady": True, "meshedPods": 12, "totalPods": 12,
            "issuerNotAfter": "2027-01-19T12:00:00Z", "prometheusURL": None, "proxyMetricsURLs": [],
            "events": [],
        }
        base.update(kw)
        return base

    return {
        "generatedAt": "2026-11-20T11:59:58Z",
        "anchors": [{"fingerprint": "sha256:9f86d081884c7d65", "notAfter": "2027-11-20T12:00:00Z"}],
        "rotation": {"phase": None},
        "clusters": [
            cluster("east", events=[{"time": "2026-11-20T11:50:00Z", "type": "Normal", "reason": "Applied",
                                     "message": "revision a1b2c3d applied"}]),
            cluster("west", state="Degraded", appliedRevision="0f0f0f0f0f", meshedPods=9,
                    issuerNotAfter="2026-11-25T12:00:00Z",
                    events=[{"time": "2026-11-20T11:55:00Z", "type": "Warning", "reason": "Drift",
                             "message": "Deployment mesh/destination was changed outside Git"}]),
            cluster("north", reachable=False, state="Unreachable", controlPlaneReady=False,
                    message="dial tcp 127.0.0.1:6443: connection refused"),
        ],
    }


def r(name: str, v: float, **labels: str) -> Rate:
    return Rate(name, tuple(sorted(labels.items())), v)


def traffic(deployment: str, ok: float, bad: float, p_bucket: str, ns: str = "shop",
            client: str = "web.shop.serviceaccount.identity.meshfleet.example") -> list[Rate]:
    lab = {"direction": "inbound", "namespace": ns, "deployment": deployment, "pod": f"{deployment}-0",
           "client_id": client, "authority": f"{deployment}.{ns}.svc:8080"}
    rates = [r("response_total", ok, classification="success", **lab),
             r("response_total", bad, classification="failure", **lab),
             r("request_total", ok + bad, tls="true", **lab)]
    for le in ("1", "5", "10", "50", "+Inf"):
        cum = 0.0 if float(le) < float(p_bucket) else ok + bad
        rates.append(r("response_latency_ms_bucket", cum, le=le, **lab))
    rates.append(r("response_total", ok, classification="success", direction="outbound", namespace=ns,
                   deployment=deployment, dst_service="db", dst_namespace="data"))
    return rates


NORTH_ERROR = "http://127.0.0.1:9090: connection refused"


def fleet_metrics() -> dict[str, ClusterMetrics]:
    """Every workload's traffic of the clusters that have metrics."""
    return {
        "east": summarize(traffic("api", 99.5, 0.5, "5") + traffic("cart", 20, 0, "10")),
        "west": summarize(traffic("api", 45, 5, "50", ns="pay")),
    }


def fleet_view() -> FleetView:
    status = parse_status(status_doc())
    east, west, north = status.clusters
    metrics = fleet_metrics()
    return FleetView(
        now=NOW, status_origin="fleet-status.json", status=status, status_error=None, status_age_s=1.0,
        clusters=(
            ClusterView("east", east, MetricsSource.PROMETHEUS, metrics["east"].inbound,
                        None, 2.0, rps_history=(100, 110, 120, 119.5, 120),
                        success_history=(1.0, 0.999, 0.998, 0.996, 0.9958)),
            ClusterView("west", west, MetricsSource.PROXIES, metrics["west"].inbound, None, 2.0,
                        rps_history=(60, 55, 50), success_history=(0.95, 0.92, 0.9)),
            ClusterView("north", north, MetricsSource.PROMETHEUS, None, NORTH_ERROR, None),
        ),
    )


class StaticFeed:
    """A feed that always answers the same view and counts refreshes and drill-down fetches."""

    def __init__(self, view: FleetView, metrics: dict[str, ClusterMetrics] | None = None) -> None:
        self.view = view
        self.metrics = fleet_metrics() if metrics is None else metrics
        self.calls = 0
        self.detail_calls: list[tuple[str, tuple[str, str] | None]] = []

    async def refresh(self) -> FleetView:
        self.calls += 1
        return self.view

    async def detail(self, cluster: str, workload: tuple[str, str] | None = None) -> ClusterDetail:
        self.detail_calls.append((cluster, workload))
        c = self.view.cluster(cluster)
        return ClusterDetail(cluster, workload, c.metrics_source if c else MetricsSource.NONE,
                             self.metrics.get(cluster), c.metrics_error if c else None, 2.0)

    async def aclose(self) -> None:
        pass
