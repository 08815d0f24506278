"""TUI data-layer benchmark: CPU time of one refresh cycle and resident memory, for a large fleet.

Run: .venv/bin/python bench/tui_refresh.py [--clusters 100] [--workloads 500] [--cycles 5]

Three processes on 127.0.0.1, so each figure is one process's own:

- a responder that speaks the part of the Prometheus HTTP API the dashboard uses
  (/api/v1/query, instant vectors) for every cluster, plus the fleet status document.  It
  answers each query the dashboard sends by aggregating one synthetic set of per-workload series
  the way Prometheus would (sums by the query's labels; percentiles with its own
  histogram_quantile);
- the dashboard's data layer: `FleetCollector.refresh` (status + one overview query per cluster)
  and building the overview rows (`tui.present.overview.overview_table`), timed with
  time.process_time; then what a drill-down screen costs on each of its own refreshes: one
  cluster's workloads (`detail(cluster)`) and one workload (`detail(cluster, workload)`);
- the reference: the same HTTP client fetching every cluster's full per-workload breakdown (what
  the dashboard used to fetch on every refresh), `json.loads`, and one plain loop summing what
  the overview shows.  It is the floor of that design in Python.

The synthetic series per workload (the full breakdown): one pod, one caller, one outbound
destination; response_total inbound and outbound x {success, failure}; request_total inbound and
outbound (tls="true"); response_latency_ms_bucket inbound and outbound x the proxy's 25 bounds +
+Inf; tcp_open_connections inbound and outbound: 60 series per workload.  Every cluster answers
with the same vectors (same shape and size; the data layer does not know).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import random
import re
import resource
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

MIB = 1024 * 1024
BOUNDS_MS = (1, 2, 3, 4, 5, 10, 20, 30, 40, 50, 100, 200, 300, 400, 500,
             1000, 2000, 3000, 4000, 5000, 10000, 20000, 30000, 40000, 50000)  # the proxy's buckets
WINDOW = "1m"
# Per request, generous: the figure wanted is the CPU of a complete cycle, not of timed-out ones.
TIME_LIMIT_S = 300.0


# --- synthetic fleet (pure) -------------------------------------------------------------------

def _workload_labels(w: int, workloads: int) -> dict[str, str]:
    ns = f"ns-{w // 50:02d}"
    return {"namespace": ns, "deployment": f"app-{w:03d}", "pod": f"app-{w:03d}-6f9c8b7d4-x{w:04d}",
            "instance": f"10.1.{w // 250}.{w % 250}:4191"}


def _callee(w: int, workloads: int) -> int:
    return (w + 1) % workloads


def vectors(workloads: int, seed: int = 7) -> dict[str, list[dict[str, Any]]]:
    """The four instant vectors (by metric) one cluster answers, already in `sum by` form."""
    rnd = random.Random(seed)
    out: dict[str, list[dict[str, Any]]] = {m: [] for m in
                                            ("response_total", "request_total", "response_latency_ms_bucket",
                                             "tcp_open_connections")}
    at = 1_790_000_000.0

    def add(metric: str, labels: dict[str, str], value: float) -> None:
        out[metric].append({"metric": labels, "value": [at, repr(value)]})

    for w in range(workloads):
        base = _workload_labels(w, workloads)
        caller = _workload_labels((w - 1) % workloads, workloads)
        callee = _workload_labels(_callee(w, workloads), workloads)
        authority = f"{base['deployment']}.{base['namespace']}.svc.cluster.local:8080"
        inbound = {"direction": "inbound", **base, "authority": authority,
                   "client_id": f"{caller['deployment']}.{caller['namespace']}.serviceaccount.identity"
                                ".meshfleet.cluster.local"}
        outbound = {"direction": "outbound", **base, "dst_namespace": callee["namespace"],
                    "dst_service": callee["deployment"],
                    "authority": f"{callee['deployment']}.{callee['namespace']}.svc.cluster.local:8080"}
        for side in (inbound, outbound):
            rps = rnd.uniform(1.0, 200.0)
            failure = rps * rnd.choice((0.0, 0.0, 0.001, 0.02))
            add("response_total", {**side, "classification": "success"}, rps - failure)
            add("response_total", {**side, "classification": "failure"}, failure)
            add("request_total", {k: side[k] for k in ("direction", "namespace", "deployment")} | {"tls": "true"},
                rps)
            add("tcp_open_connections", {k: side[k] for k in ("direction", "namespace", "deployment")},
                float(rnd.randint(1, 20)))
            cumulative, scale = 0.0, rnd.uniform(5, 80)
            for bound in BOUNDS_MS:
                cumulative = rps * (1.0 - math.exp(-bound / scale))
                add("response_latency_ms_bucket", {**side, "le": str(float(bound))}, cumulative)
            add("response_latency_ms_bucket", {**side, "le": "+Inf"}, rps)
    return out


# What the overview alone needs: cluster-wide inbound sums, a few series per cluster.
OVERVIEW_QUERIES = (
    ("response_total", "classification",
     f'sum by (direction, classification) (rate(response_total{{direction="inbound"}}[{WINDOW}]))'),
    ("request_total", "tls", f'sum by (direction, tls) (rate(request_total{{direction="inbound"}}[{WINDOW}]))'),
    ("response_latency_ms_bucket", "le",
     f'sum by (direction, le) (rate(response_latency_ms_bucket{{direction="inbound"}}[{WINDOW}]))'),
    ("tcp_open_connections", "", 'sum by (direction) (tcp_open_connections{direction="inbound"})'),
)


def overview_vectors(full: dict[str, list[dict[str, Any]]]) -> dict[str, list[dict[str, Any]]]:
    """The answers to OVERVIEW_QUERIES, aggregated from the full vectors as Prometheus would."""
    out: dict[str, list[dict[str, Any]]] = {}
    for metric, by, promql in OVERVIEW_QUERIES:
        sums: dict[str, float] = {}
        at = 0.0
        for item in full[metric]:
            labels = item["metric"]
            if labels["direction"] == "inbound":
                key = labels.get(by, "") if by else ""
                sums[key] = sums.get(key, 0.0) + float(item["value"][1])
                at = item["value"][0]
        out[promql] = [{"metric": {"direction": "inbound", **({by: k} if by else {})}, "value": [at, repr(v)]}
                       for k, v in sums.items()]
    return out


def answer(vector: list[dict[str, Any]]) -> bytes:
    return json.dumps({"status": "success", "data": {"resultType": "vector", "result": vector}}).encode()


def combined_vector(full: dict[str, list[dict[str, Any]]], query: Any) -> list[dict[str, Any]]:
    """What Prometheus answers to one of the dashboard's combined queries, from the full series.

    Each part's direction is read from its selector; its series are summed by its labels and
    tagged; a percentile part sums buckets by its labels plus ``le`` and applies `_quantile`.
    """
    from tui.metrics.promql import TAG
    from tui.metrics.samples import LATENCY_BUCKET, LATENCY_QUANTILE

    out: list[dict[str, Any]] = []
    for part in query.parts:
        direction = re.search(r'direction="(\w+)"', part.expr)
        assert direction is not None, part.expr
        source = LATENCY_BUCKET if part.metric == LATENCY_QUANTILE else part.metric
        by = (*part.by, "le") if part.metric == LATENCY_QUANTILE else part.by
        sums: dict[tuple[tuple[str, str], ...], float] = {}
        at = 0.0
        for item in full[source]:
            labels = item["metric"]
            if labels["direction"] != direction.group(1):
                continue
            key = tuple((k, labels[k]) for k in by if labels.get(k))  # Prometheus drops empty labels
            sums[key] = sums.get(key, 0.0) + float(item["value"][1])
            at = item["value"][0]
        if part.metric != LATENCY_QUANTILE:
            out += [{"metric": {**dict(k), TAG: part.tag}, "value": [at, repr(v)]} for k, v in sums.items()]
            continue
        q = float(dict(part.extra)["quantile"])
        groups: dict[tuple[tuple[str, str], ...], dict[float, float]] = {}
        for key, v in sums.items():
            labels = dict(key)
            le = float(labels.pop("le"))
            groups.setdefault(tuple(labels.items()), {})[le] = v
        for key, buckets in groups.items():
            value = _quantile(q, buckets)
            out.append({"metric": {**dict(key), TAG: part.tag},
                        "value": [at, "NaN" if value is None else repr(value)]})
    return out


def status_document(clusters: int, workloads: int, base_url: str) -> bytes:
    now = datetime.now(UTC)

    def iso(t: datetime) -> str:
        return t.isoformat().replace("+00:00", "Z")

    return json.dumps({
        "generatedAt": iso(now),
        "anchors": [{"fingerprint": "ab" * 32, "notAfter": iso(now + timedelta(days=300))}],
        "rotation": {"phase": None},
        "clusters": [{
            "name": f"cluster-{i:03d}", "reachable": True, "state": "Ready",
            "targetRevision": "0123456789abcdef", "appliedRevision": "0123456789abcdef",
            "lastSync": iso(now), "message": "", "controlPlaneReady": True,
            "meshedPods": workloads, "totalPods": workloads,
            "issuerNotAfter": iso(now + timedelta(days=20)),
            "prometheusURL": f"{base_url}/c/{i}", "proxyMetricsURLs": [], "events": [],
        } for i in range(clusters)],
    }).encode()


# --- the responder (its own process) ---------------------------------------------------------

async def serve(clusters: int, workloads: int) -> None:
    from aiohttp import web

    from tui.metrics.promql import overview_query, rate_queries, workloads_query

    full = vectors(workloads)
    bodies_by_metric = {m: answer(v) for m, v in full.items()}
    by_query = {q.promql: bodies_by_metric[q.metric] for q in rate_queries(WINDOW)}
    by_query.update({promql: answer(v) for promql, v in overview_vectors(full).items()})
    for combined in (overview_query(WINDOW), workloads_query(WINDOW)):
        by_query[combined.promql] = answer(combined_vector(full, combined))
    for w in (0, workloads // 2):  # the workloads the drill-down measurement opens
        one = _workload_labels(w, workloads)
        for q in rate_queries(WINDOW, (one["namespace"], one["deployment"])):
            by_query[q.promql] = answer([item for item in full[q.metric]
                                         if item["metric"]["namespace"] == one["namespace"]
                                         and item["metric"]["deployment"] == one["deployment"]])
    state: dict[str, bytes] = {}

    async def query(request: web.Request) -> web.Response:
        body = by_query.get(request.query.get("query", ""))
        if body is None:
            return web.json_response({"status": "error", "errorType": "bad_data", "error": "unknown query"},
                                     status=400)
        return web.Response(body=body, content_type="application/json")

    async def status(_: web.Request) -> web.Response:
        return web.Response(body=state["status"], content_type="application/json")

    app = web.Application()
    app.add_routes([web.get("/c/{cluster}/api/v1/query", query), web.get("/status.json", status)])
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    state["status"] = status_document(clusters, workloads, f"http://127.0.0.1:{port}")
    sizes = sum(len(b) for b in bodies_by_metric.values())
    print(json.dumps({"port": port, "bytes_per_cluster": sizes,
                      "series_per_cluster": sum(len(v) for v in full.values())}), flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)  # until the parent closes stdin
    await runner.cleanup()


# --- measuring (its own process) -------------------------------------------------------------

def _rss() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def _peak_rss() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


async def measure_product(url: str, cycles: int, workloads: int) -> dict[str, Any]:
    from tui.data import FleetCollector
    from tui.present.drill import inbound_table, named_table
    from tui.present.overview import overview_table
    from tui.status.source import JsonDocumentSource

    rss_imports = _rss()
    collector = FleetCollector(JsonDocumentSource(f"{url}/status.json", timeout=TIME_LIMIT_S),
                               time_limit=TIME_LIMIT_S, window=WINDOW)
    out: list[dict[str, float]] = []
    try:
        for i in range(cycles):
            t0, w0 = time.process_time(), time.perf_counter()
            view = await collector.refresh()
            t1 = time.process_time()
            table = overview_table(view)
            t2, w2 = time.process_time(), time.perf_counter()
            errors = [c.metrics_error for c in view.clusters if c.metrics_error] + \
                ([view.status_error] if view.status_error else [])
            if errors or len(table.rows) != len(view.clusters) or any(c.metrics is None for c in view.clusters):
                raise SystemExit(f"incomplete cycle: {len(errors)} of {len(view.clusters)} clusters failed; "
                                 f"first: {errors[:1]}")
            # What a drill-down screen adds on each of its own refreshes (not part of the cycle).
            target = _workload_labels(0 if i % 2 == 0 else workloads // 2, workloads)
            workload = (target["namespace"], target["deployment"])
            t3 = time.process_time()
            cluster = await collector.detail(view.clusters[0].name)
            inbound_table((cluster,))
            t4 = time.process_time()
            one = await collector.detail(view.clusters[0].name, workload)
            found = one.metrics.workload(*workload) if one.metrics else None
            if cluster.metrics is None or found is None:
                raise SystemExit(f"incomplete drill-down: {cluster.error or one.error}")
            named_table("ROUTE", found.routes)
            t5 = time.process_time()
            out.append({"refresh_cpu": t1 - t0, "overview_cpu": t2 - t1, "cpu": t2 - t0, "wall": w2 - w0,
                        "cluster_detail_cpu": t4 - t3, "workload_detail_cpu": t5 - t4})
            first = view.clusters[0].metrics
            assert first is not None  # checked with the errors above
            check = {"rps": first.rps, "success_rate": first.success_rate, "p99_ms": first.p99_ms,
                     "workloads": len(cluster.metrics.workloads)}
            drill = {"workload": found.name, "rps": found.inbound.rps, "routes": [n for n, _ in found.routes],
                     "endpoints": [n for n, _ in found.endpoints], "callers": len(found.callers),
                     "destinations": [n for n, _ in found.outbound]}
    finally:
        await collector.aclose()
    return {"cycles": out, "rss_imports": rss_imports, "rss_after": _rss(), "rss_peak": _peak_rss(),
            "check": check, "drill": drill}


async def measure_overview_only(url: str, cycles: int) -> dict[str, Any]:
    """The overview built from OVERVIEW_QUERIES with the data layer's own parsing and math."""
    import aiohttp

    from tui.data import ClusterView, FleetView, MetricsSource
    from tui.metrics import ClusterMetrics, golden, vector_rates
    from tui.metrics import fetch as metrics_fetch
    from tui.metrics.promql import RateQuery
    from tui.present.overview import overview_table
    from tui.status.source import JsonDocumentSource

    rss_imports = _rss()
    queries = [RateQuery(metric, promql) for metric, _, promql in OVERVIEW_QUERIES]
    source = JsonDocumentSource(f"{url}/status.json", timeout=TIME_LIMIT_S)
    out: list[dict[str, float]] = []
    async with aiohttp.ClientSession() as session:

        async def cluster(base: str) -> ClusterMetrics:
            endpoint = f"{base}/api/v1/query"
            bodies = await asyncio.gather(*(metrics_fetch._get(session, endpoint, TIME_LIMIT_S, {"query": q.promql})
                                            for q in queries))
            rates = [r for q, body in zip(queries, bodies, strict=True) for r in vector_rates(q, body, base)]
            return ClusterMetrics(inbound=golden(rates), workloads=())

        for _ in range(cycles):
            t0, w0 = time.process_time(), time.perf_counter()
            status = await source.fetch()
            metrics = await asyncio.gather(*(cluster(c.prometheus_url or "") for c in status.clusters))
            view = FleetView(now=datetime.now(UTC), status_origin=source.origin, status=status, status_error=None,
                             status_age_s=0.0, clusters=tuple(
                                 ClusterView(c.name, c, MetricsSource.PROMETHEUS, m.inbound, None, 0.0,
                                             (m.inbound.rps,), (m.inbound.success_rate,))
                                 for c, m in zip(status.clusters, metrics, strict=True)))
            overview_table(view)
            out.append({"cpu": time.process_time() - t0, "wall": time.perf_counter() - w0})
    g = metrics[0].inbound
    check = {"rps": g.rps, "success_rate": g.success_rate, "p99_ms": g.p99_ms, "workloads": None}
    return {"cycles": out, "rss_imports": rss_imports, "rss_after": _rss(), "rss_peak": _peak_rss(),
            "check": check}


def _quantile(q: float, buckets: dict[float, float]) -> float | None:
    """histogram_quantile over summed cumulative buckets, written out plainly."""
    bounds = sorted(buckets)
    total = buckets.get(math.inf, 0.0)
    if total <= 0:
        return None
    rank, below, lower = q * total, 0.0, 0.0
    for b in bounds:
        count = buckets[b]
        if count >= rank:
            if math.isinf(b):
                return lower
            return lower + (b - lower) * (rank - below) / (count - below) if count > below else lower
        below, lower = count, b
    return None


def _naive_cluster(bodies: list[bytes]) -> dict[str, Any]:
    responses, requests, latency, _tcp = (json.loads(b)["data"]["result"] for b in bodies)
    ok = total = tls = reqs = 0.0
    buckets: dict[float, float] = {}
    workloads: dict[tuple[str, str], list[float]] = {}
    for item in responses:
        m, v = item["metric"], float(item["value"][1])
        if m["direction"] != "inbound":
            continue
        total += v
        acc = workloads.setdefault((m["namespace"], m["deployment"]), [0.0, 0.0])
        acc[1] += v
        if m["classification"] == "success":
            ok += v
            acc[0] += v
    for item in requests:
        m, v = item["metric"], float(item["value"][1])
        if m["direction"] == "inbound":
            reqs += v
            tls += v if m.get("tls") == "true" else 0.0
    for item in latency:
        m = item["metric"]
        if m["direction"] == "inbound":
            le = float(m["le"])
            buckets[le] = buckets.get(le, 0.0) + float(item["value"][1])
    return {"rps": total, "success_rate": ok / total if total else None, "mtls": tls / reqs if reqs else None,
            "p50_ms": _quantile(0.5, buckets), "p95_ms": _quantile(0.95, buckets),
            "p99_ms": _quantile(0.99, buckets),
            "workloads": {k: (a[1], a[0] / a[1] if a[1] else None) for k, a in workloads.items()}}


async def measure_reference(url: str, cycles: int) -> dict[str, Any]:
    import aiohttp

    from tui.metrics.promql import rate_queries

    rss_imports = _rss()
    queries = [q.promql for q in rate_queries(WINDOW)]
    timeout = aiohttp.ClientTimeout(total=TIME_LIMIT_S)
    out: list[dict[str, float]] = []
    async with aiohttp.ClientSession(timeout=timeout) as session:

        async def get(u: str, params: dict[str, str] | None = None) -> bytes:
            async with session.get(u, params=params) as resp:
                resp.raise_for_status()
                return await resp.read()

        async def cluster(base: str) -> dict[str, Any]:
            bodies = await asyncio.gather(*(get(f"{base}/api/v1/query", {"query": q}) for q in queries))
            return _naive_cluster(list(bodies))

        for _ in range(cycles):
            t0, w0 = time.process_time(), time.perf_counter()
            status = json.loads(await get(f"{url}/status.json"))
            rows = await asyncio.gather(*(cluster(c["prometheusURL"]) for c in status["clusters"]))
            out.append({"cpu": time.process_time() - t0, "wall": time.perf_counter() - w0})
    first = rows[0]
    check = {"rps": first["rps"], "success_rate": first["success_rate"], "p99_ms": first["p99_ms"],
             "workloads": len(first["workloads"])}
    return {"cycles": out, "rss_imports": rss_imports, "rss_after": _rss(), "rss_peak": _peak_rss(),
            "check": check}


# --- the orchestrator ------------------------------------------------------------------------

async def _child(args: list[str], stdin: bool = False) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, __file__, *args, stdout=asyncio.subprocess.PIPE,
        stdin=asyncio.subprocess.PIPE if stdin else asyncio.subprocess.DEVNULL)


async def _measure(mode: str, url: str, cycles: int, workloads: int) -> dict[str, Any]:
    proc = await _child(["--measure", mode, "--url", url, "--cycles", str(cycles), "--workloads", str(workloads)])
    stdout, _ = await proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"the {mode} run failed with exit status {proc.returncode}")
    result: dict[str, Any] = json.loads(stdout)
    return result


def _summary(label: str, result: dict[str, Any], key: str, fmt: Callable[[float], str]) -> str:
    values = [c[key] for c in result["cycles"]]
    return f"{label:<44} median {fmt(statistics.median(values))}  max {fmt(max(values))}"


async def orchestrate(clusters: int, workloads: int, cycles: int) -> None:
    server = await _child(["--serve", "--clusters", str(clusters), "--workloads", str(workloads)], stdin=True)
    try:
        assert server.stdout is not None
        hello = json.loads(await server.stdout.readline())
        url = f"http://127.0.0.1:{hello['port']}"
        product = await _measure("product", url, cycles, workloads)
        reference = await _measure("reference", url, cycles, workloads)
        overview = await _measure("overview-only", url, cycles, workloads)
    finally:
        if server.stdin is not None:
            server.stdin.close()
        try:
            await asyncio.wait_for(server.wait(), 10)
        except TimeoutError:
            server.kill()
            await server.wait()

    ms: Callable[[float], str] = lambda s: f"{s * 1000:8.0f} ms"  # noqa: E731
    series = hello["series_per_cluster"]
    print(f"{clusters} clusters x {workloads} workloads; {series} series and "
          f"{hello['bytes_per_cluster'] / MIB:.1f} MiB of JSON per cluster per cycle "
          f"({series * clusters:,} series, {hello['bytes_per_cluster'] * clusters / MIB:.0f} MiB per cycle); "
          f"{cycles} cycles each; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(_summary("data layer: refresh + overview rows, CPU", product, "cpu", ms))
    print(_summary("  of which FleetCollector.refresh, CPU", product, "refresh_cpu", ms))
    print(_summary("  of which overview_table, CPU", product, "overview_cpu", ms))
    print(_summary("data layer: wall time per cycle", product, "wall", ms))
    print(_summary("drill-down: one cluster's workloads, CPU", product, "cluster_detail_cpu", ms))
    print(_summary("drill-down: one workload, CPU", product, "workload_detail_cpu", ms))
    print(_summary("reference: json.loads + plain loop, CPU", reference, "cpu", ms))
    print(_summary("reference: wall time per cycle", reference, "wall", ms))
    print(_summary("overview-only queries, same parsing, CPU", overview, "cpu", ms))
    print(_summary("overview-only queries: wall time per cycle", overview, "wall", ms))
    for label, r in (("data layer", product), ("reference", reference), ("overview-only", overview)):
        print(f"{label:<11} RSS: after imports {r['rss_imports'] / MIB:.0f} MiB, after the cycles "
              f"{r['rss_after'] / MIB:.0f} MiB, peak {r['rss_peak'] / MIB:.0f} MiB")
    print(f"cluster-000 through overview-only queries: {overview['check']}")
    print(f"cluster-000 as the data layer saw it: {product['check']}")
    print(f"cluster-000 as the reference saw it:  {reference['check']}")
    print(f"a workload of cluster-000 in the drill-down: {product['drill']}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--clusters", type=int, default=100)
    ap.add_argument("--workloads", type=int, default=500)
    ap.add_argument("--cycles", type=int, default=5)
    ap.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--measure", choices=("product", "reference", "overview-only"), help=argparse.SUPPRESS)
    ap.add_argument("--url", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve:
        asyncio.run(serve(args.clusters, args.workloads))
    elif args.measure:
        if args.measure == "product":
            result = asyncio.run(measure_product(args.url, args.cycles, args.workloads))
        elif args.measure == "reference":
            result = asyncio.run(measure_reference(args.url, args.cycles))
        else:
            result = asyncio.run(measure_overview_only(args.url, args.cycles))
        print(json.dumps(result))
    else:
        asyncio.run(orchestrate(args.clusters, args.workloads, args.cycles))


if __name__ == "__main__":
    main()
