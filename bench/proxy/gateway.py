"""``bench/proxy_gateway.sh``: what a multicluster gateway adds to a meshed request.

Two paths to the same nginx backend, every hop mTLS between ``meshfleet
proxy`` processes on 127.0.0.1:

    same cluster:   client -> proxy A -> proxy B -> nginx
    linked cluster: client -> proxy A' -> gateway G -> proxy B -> nginx

A' resolves the service to the gateway (with the original's name, as the
destination service does for a mirror); G resolves that name to B. Rounds
alternate the paths: vegeta at a fixed rate for latency, wrk closed-loop for
throughput and the proxies' CPU per request.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import sys
from pathlib import Path

from tests.unit.proxy.certs import make_identity

from .configs import nginx_conf
from .loadgen import VegetaResult, ensure_vegeta, measure_wrk, run_vegeta
from .pair import AUTHORITY, NAMESPACE, proxy_argv, start_meshfleet_pair
from .procs import BenchError, ProcessSet, free_port, wait_for_http, wait_for_port
from .run import Target, _check_path, _machine, _require, _say
from .section import section_main

HEADING = "## Multicluster gateway hop"


def _resolver(path: Path, endpoint: dict[str, object]) -> Path:
    service = {"name": AUTHORITY, "namespace": NAMESPACE, "service": "web", "endpoints": [endpoint]}
    path.write_text(json.dumps({"services": [service]}))
    return path


def run(args: argparse.Namespace, workdir: Path) -> str:
    nginx = _require("nginx")
    _require("wrk")
    vegeta = ensure_vegeta(workdir / "vegeta-build.log")
    load_before = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    with ProcessSet(workdir) as procs:
        backend = free_port()
        (workdir / "nginx.conf").write_text(nginx_conf(workdir, backend))
        ngx = procs.start("nginx", [nginx, "-p", str(workdir), "-c", str(workdir / "nginx.conf")])
        wait_for_port(ngx, backend)
        pair = start_meshfleet_pair(procs, workdir, backend)
        anchor, issuer = pair.pki
        gw_id = make_identity(workdir / "id-gateway", issuer, anchor, "gateway", "mesh")
        caller_id = make_identity(workdir / "id-caller", issuer, anchor, "app", NAMESPACE)
        gw_in, gw_admin = free_port(), free_port()
        b_endpoint = {"address": f"127.0.0.1:{backend}", "identity": pair.server_identity,
                      "proxy_port": pair.inbound_port}  # fmt: skip
        gateway = procs.start("gateway", [
            *proxy_argv(gw_id, gw_in, free_port(), gw_admin),
            "--mode=gateway", "--default-inbound-policy=all-authenticated",
            f"--resolver-file={_resolver(workdir / 'gateway.json', b_endpoint)}",
        ])  # fmt: skip
        via = {"address": "127.0.0.1:8080", "identity": gw_id.name, "proxy_port": gw_in, "remote": AUTHORITY}
        out, caller_admin = free_port(), free_port()
        caller = procs.start("caller", [
            *proxy_argv(caller_id, free_port(), out, caller_admin),
            f"--resolver-file={_resolver(workdir / 'caller.json', via)}",
        ])  # fmt: skip
        wait_for_http(gateway, f"http://127.0.0.1:{gw_admin}/ready")
        wait_for_http(caller, f"http://127.0.0.1:{caller_admin}/ready")
        paths = {
            "same cluster (A -> B)": Target("pair", pair.outbound_port, (("A", pair.client.pid),
                                                                        ("B", pair.server.pid))),
            "linked cluster (A' -> G -> B)": Target("gateway", out, (("A'", caller.pid), ("G", gateway.pid),
                                                                     ("B", pair.server.pid))),
        }  # fmt: skip
        for t in paths.values():
            _check_path(t)
        latency: dict[str, list[VegetaResult]] = {n: [] for n in paths}
        rps: dict[str, list[float]] = {n: [] for n in paths}
        cpu: dict[str, list[float]] = {n: [] for n in paths}
        for r in range(args.rounds):
            for name in paths if r % 2 == 0 else reversed(paths):
                t = paths[name]
                m = measure_wrk(t.url, AUTHORITY, [pid for _, pid in t.proxies], connections=args.connections,
                                seconds=args.seconds, what=name)
                w = m.run
                rps[name].append(w.requests_per_second)
                cpu[name].append(m.cpu_us_per_request)
                v = run_vegeta(vegeta, t.url, AUTHORITY, rate=args.rate, seconds=args.seconds,
                               connections=args.connections, workdir=workdir)  # fmt: skip
                if v.success < 1.0:
                    raise BenchError(f"{name}: {v.success:.4f} of requests succeeded at {args.rate}/s")
                latency[name].append(v)
                _say(f"round {r + 1} {name}: {w.requests_per_second:,.0f} req/s, {cpu[name][-1]:.0f} µs CPU/request; "
                     f"at {args.rate}/s p50 {v.p50_ms:.2f} ms p99 {v.p99_ms:.2f} ms")  # fmt: skip
        procs.stop_all()
    rows = []
    for name in paths:
        p50 = statistics.median(v.p50_ms for v in latency[name])
        p99 = statistics.median(v.p99_ms for v in latency[name])
        rows.append(f"| {name} | {statistics.median(rps[name]):,.0f} | {statistics.median(cpu[name]):.0f} µs "
                    f"| {p50:.2f} ms | {p99:.2f} ms |")  # fmt: skip
    same, linked = (statistics.median(v.p50_ms for v in latency[n]) for n in paths)
    lines = [
        HEADING,
        "",
        f"`{' '.join(['bench/proxy_gateway.sh', *args.argv])}` — {dt.date.today().isoformat()}, {_machine()}, "
        f"load average before {load_before}.",
        "",
        "Every hop mTLS between `meshfleet proxy` processes on 127.0.0.1 in front of one nginx. wrk, 1 thread, "
        f"{args.connections} connections, {args.seconds:g} s after a 2 s warm-up, for throughput and the CPU of "
        f"every proxy on the path; vegeta at {args.rate} req/s for {args.seconds:g} s for latency; "
        f"{args.rounds} alternating rounds, medians.",
        "",
        "| path | req/s | proxy CPU per request (all proxies) | p50 | p99 |",
        "| --- | ---: | ---: | ---: | ---: |",
        *rows,
        "",
        f"The gateway hop adds **{linked - same:+.2f} ms** at the median at {args.rate} req/s.",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    raw = list(sys.argv[1:] if argv is None else argv)
    ap = argparse.ArgumentParser(prog="bench/proxy_gateway.sh", description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--seconds", type=float, default=8.0)
    ap.add_argument("--rate", type=int, default=300, help="vegeta's fixed request rate")
    return section_main(ap, raw, run, heading=HEADING, prefix="meshfleet-bench-gateway-")


if __name__ == "__main__":
    sys.exit(main())
