"""Builds Linkerd-compatible exposition text for tests, from counts a reader can check by hand."""

from __future__ import annotations

from dataclasses import dataclass, field

BOUNDS = ("1", "2", "3", "4", "5", "10", "20", "30", "40", "50", "100", "200", "300", "400", "500",
          "1000", "2000", "3000", "4000", "5000", "10000", "20000", "30000", "40000", "50000", "+Inf")


@dataclass
class Traffic:
    """Counters of one inbound series set of a workload, as a proxy would expose them."""

    deployment: str
    namespace: str = "default"
    success: int = 0
    failure: int = 0
    tls: bool = True
    client_id: str = "web.default.serviceaccount.identity.meshfleet.cluster.local"
    # observations per latency bound (non-cumulative: how many fell at or under each bound
    # and above the previous one)
    latencies: dict[str, int] = field(default_factory=dict)
    direction: str = "inbound"
    dst_service: str = ""
    dst_namespace: str = ""
    authority: str = ""


def exposition(traffic: list[Traffic], open_connections: int = 0) -> str:
    lines = ["# TYPE request_total counter", "# TYPE response_total counter",
             "# TYPE response_latency_ms histogram", "# TYPE tcp_open_connections gauge"]
    for t in traffic:
        base = (f'direction="{t.direction}",deployment="{t.deployment}",namespace="{t.namespace}",'
                f'tls="{str(t.tls).lower()}",authority="{t.authority}",dst_service="{t.dst_service}",'
                f'dst_namespace="{t.dst_namespace}",client_id="{t.client_id if t.tls else ""}"')
        lines.append(f"request_total{{{base}}} {t.success + t.failure}")
        lines.append(f'response_total{{{base},classification="success",status_code="200"}} {t.success}')
        lines.append(f'response_total{{{base},classification="failure",status_code="500"}} {t.failure}')
        cumulative = 0
        for b in BOUNDS:
            cumulative += t.latencies.get(b, 0)
            lines.append(f'response_latency_ms_bucket{{{base},le="{b}"}} {cumulative}')
        lines.append(f"response_latency_ms_count{{{base}}} {cumulative}")
    lines.append(f'tcp_open_connections{{direction="inbound"}} {open_connections}')
    return "\n".join(lines) + "\n"
