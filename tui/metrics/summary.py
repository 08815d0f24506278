"""A cluster's metrics at every level the dashboard drills into (pure).

cluster (inbound) -> workload (inbound; outbound per destination) -> one workload's routes,
endpoints (pods) and callers (client identities).

A series counts towards a breakdown only if it carries that breakdown's labels.  Prometheus
answers are summed by fewer labels for coarser screens (and ``tcp_open_connections`` never has
a route), so a series without, say, ``pod`` says nothing about pods: it still counts for its
workload, but never becomes an invented ``(unknown)`` row.  Likewise a series without
``deployment`` counts for the cluster only.  A caller without ``client_id`` is
``(no identity)`` only when the series says the request was not mTLS (``tls`` other than
``true``); Prometheus drops empty labels, so that is the only way to tell.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from tui.metrics.golden import GoldenSignals, golden, golden_by
from tui.metrics.samples import Rate

NO_IDENTITY = "(no identity)"

Named = tuple[tuple[str, GoldenSignals], ...]


@dataclass(frozen=True, slots=True)
class WorkloadMetrics:
    """One deployment's traffic.

    ``outbound``: per destination service; ``routes``: inbound per route (or authority);
    ``endpoints``: inbound per pod, i.e. per proxy; ``callers``: inbound per client identity.
    """

    namespace: str
    name: str
    inbound: GoldenSignals
    outbound: Named
    routes: Named
    endpoints: Named
    callers: Named


@dataclass(frozen=True, slots=True)
class ClusterMetrics:
    inbound: GoldenSignals
    workloads: tuple[WorkloadMetrics, ...]

    def workload(self, namespace: str, name: str) -> WorkloadMetrics | None:
        for w in self.workloads:
            if w.namespace == namespace and w.name == name:
                return w
        return None


def summarize(rates: Iterable[Rate]) -> ClusterMetrics:
    rates = tuple(rates)
    inbound = tuple(r for r in rates if r.label("direction") == "inbound")
    outbound = tuple(r for r in rates if r.label("direction") == "outbound")

    def wl(r: Rate) -> tuple[str, str] | None:
        deployment = r.label("deployment")
        return (r.label("namespace"), deployment) if deployment else None

    def destination(r: Rate) -> str | None:
        svc, ns = r.label("dst_service"), r.label("dst_namespace")
        if svc:
            return f"{svc}.{ns}" if ns else svc
        return r.label("authority") or None

    def caller(r: Rate) -> str | None:
        if client := r.label("client_id"):
            return client
        tls = r.label("tls")
        return NO_IDENTITY if tls and tls != "true" else None

    def route(r: Rate) -> str | None:
        return r.label("route") or r.label("authority") or None

    def endpoint(r: Rate) -> str | None:
        return r.label("pod") or r.label("instance") or None

    def under_workload(item: Callable[[Rate], str | None]) -> Callable[[Rate], tuple[str, str, str] | None]:
        def key(r: Rate) -> tuple[str, str, str] | None:
            workload, found = wl(r), item(r)
            return None if workload is None or found is None else (*workload, found)
        return key

    per_in = golden_by(inbound, wl)
    per_out = golden_by(outbound, under_workload(destination))
    per_route = golden_by(inbound, under_workload(route))
    per_endpoint = golden_by(inbound, under_workload(endpoint))
    per_caller = golden_by(inbound, under_workload(caller))
    idle = golden(())

    def under(d: dict[tuple[str, str, str], GoldenSignals]) -> dict[tuple[str, str], Named]:
        # Index once by workload so the per-workload lookup below stays linear in series count.
        grouped: dict[tuple[str, str], list[tuple[str, GoldenSignals]]] = {}
        for (ns, name, item), g in d.items():
            grouped.setdefault((ns, name), []).append((item, g))
        return {k: tuple(sorted(v, key=lambda x: x[0])) for k, v in grouped.items()}

    outs, routes, endpoints, callers = under(per_out), under(per_route), under(per_endpoint), under(per_caller)

    keys = sorted(set(per_in) | {(ns, name) for ns, name, _ in per_out})
    return ClusterMetrics(
        inbound=golden(inbound),
        workloads=tuple(
            WorkloadMetrics(
                namespace=ns,
                name=name,
                inbound=per_in.get((ns, name), idle),
                outbound=outs.get((ns, name), ()),
                routes=routes.get((ns, name), ()),
                endpoints=endpoints.get((ns, name), ()),
                callers=callers.get((ns, name), ()),
            )
            for ns, name in keys
        ),
    )
