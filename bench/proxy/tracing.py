"""``bench/proxy_tracing.sh``: what recording and exporting spans costs the proxy pair.

Two meshfleet proxy pairs in front of the same nginx backend, one started
with ``--trace-collector`` (nginx itself takes the OTLP posts and answers 200,
so the collector costs the proxies nothing beyond the export), the other
without.  wrk sends every request with a sampled ``traceparent``, so the traced
pair records and exports two spans per request while the plain pair forwards
the header untouched.  Rounds alternate the pairs; the result is throughput and
proxy CPU per request for each, and the spans the traced pair reports exported.
"""

from __future__ import annotations

import argparse
import datetime as dt
import re
import statistics
import sys
import time
import urllib.request
from pathlib import Path

from .configs import nginx_conf
from .loadgen import measure_wrk
from .pair import AUTHORITY, start_meshfleet_pair
from .procs import ProcessSet, free_port, wait_for_port
from .run import _machine, _require, _say
from .section import section_main

HEADING = "## Proxy tracing overhead"
SAMPLED = "traceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


def _spans(admin_port: int) -> tuple[float, float]:
    """(exported, dropped) spans as the proxy's metrics count them."""
    with urllib.request.urlopen(f"http://127.0.0.1:{admin_port}/metrics", timeout=5) as resp:  # noqa: S310
        text = resp.read().decode()
    exported = re.search(r"^trace_spans_exported_total (\S+)$", text, re.MULTILINE)
    dropped = re.findall(r"^trace_spans_dropped_total\{[^}]*\} (\S+)$", text, re.MULTILINE)
    return (float(exported.group(1)) if exported else 0.0), sum(map(float, dropped))


def run(args: argparse.Namespace, workdir: Path) -> str:
    nginx = _require("nginx")
    _require("wrk")
    load_before = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    with ProcessSet(workdir) as procs:
        backend = free_port()
        (workdir / "nginx.conf").write_text(nginx_conf(workdir, backend))
        ngx = procs.start("nginx", [nginx, "-p", str(workdir), "-c", str(workdir / "nginx.conf")])
        wait_for_port(ngx, backend)
        pairs = {}
        for name, extra in (("plain", ()), ("traced", (f"--trace-collector=127.0.0.1:{backend}",))):
            (workdir / name).mkdir()
            pairs[name] = start_meshfleet_pair(procs, workdir / name, backend, extra_args=extra)
        rps: dict[str, list[float]] = {n: [] for n in pairs}
        cpu: dict[str, list[float]] = {n: [] for n in pairs}
        requests = {n: 0 for n in pairs}
        for r in range(args.rounds):
            for name in pairs if r % 2 == 0 else reversed(pairs):
                pair = pairs[name]
                url = f"http://127.0.0.1:{pair.outbound_port}/"
                m = measure_wrk(url, AUTHORITY, [c.pid for c in pair.children], connections=args.connections,
                                seconds=args.seconds, headers=[SAMPLED], what=name)
                w = m.run
                rps[name].append(w.requests_per_second)
                cpu[name].append(m.cpu_us_per_request)
                requests[name] += m.warmup.requests + w.requests
                _say(f"round {r + 1} {name}: {w.requests_per_second:,.0f} req/s, {cpu[name][-1]:.0f} µs CPU/request")
        time.sleep(2.5)  # two export intervals: the last batches leave
        traced = pairs["traced"]
        counts = [_spans(traced.client_admin_port), _spans(traced.server_admin_port)]
        exported, dropped = sum(c[0] for c in counts), sum(c[1] for c in counts)
        plain_exported = _spans(pairs["plain"].client_admin_port)[0]
        procs.stop_all()
    med = {n: (statistics.median(rps[n]), statistics.median(cpu[n])) for n in pairs}
    overhead = med["traced"][1] / med["plain"][1] - 1
    lines = [
        HEADING,
        "",
        f"`{' '.join(['bench/proxy_tracing.sh', *args.argv])}` — {dt.date.today().isoformat()}, {_machine()}, "
        f"load average before {load_before}.",
        "",
        f"Two meshfleet proxy pairs (mTLS between A and B) in front of one nginx; wrk, 1 thread, "
        f"{args.connections} connections, {args.seconds:g} s per run after a 2 s warm-up, {args.rounds} "
        "alternating rounds, medians. Every request carries a sampled `traceparent`. The traced pair has "
        "`--trace-collector` (nginx answers the OTLP posts); the plain pair forwards the header untouched.",
        "",
        "| pair | req/s | proxy CPU per request (A + B) | spans exported | spans dropped |",
        "| --- | ---: | ---: | ---: | ---: |",
        f"| plain | {med['plain'][0]:,.0f} | {med['plain'][1]:.0f} µs | {plain_exported:,.0f} | 0 |",
        f"| traced | {med['traced'][0]:,.0f} | {med['traced'][1]:.0f} µs | {exported:,.0f} "
        f"(wrk completed {requests['traced']:,} requests, warm-ups included) | {dropped:,.0f} |",
        "",
        f"Tracing costs **{overhead:+.0%}** CPU per request on this path.",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    raw = list(sys.argv[1:] if argv is None else argv)
    ap = argparse.ArgumentParser(prog="bench/proxy_tracing.sh", description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--seconds", type=float, default=8.0)
    return section_main(ap, raw, run, heading=HEADING, prefix="meshfleet-bench-tracing-")


if __name__ == "__main__":
    sys.exit(main())
