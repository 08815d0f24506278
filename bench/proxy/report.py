"""Benchmark figures to ratios and a Markdown section (pure)."""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from .loadgen import VegetaResult, WrkResult

MIB = 1024 * 1024
THROUGHPUT_TARGET = 0.6  # meshfleet pair / haproxy pair, at least
ADDED_P99_TARGET = 2.0  # meshfleet added p99 / haproxy added p99, at most
RSS_IDLE_TARGET_MIB = 40.0
RSS_LOAD_TARGET_MIB = 60.0
HEADING = "## Proxy (issue 6)"


@dataclass(frozen=True, slots=True)
class PathResult:
    """One way from the client to the backend, over all rounds."""

    name: str
    wrk: tuple[WrkResult, ...]
    vegeta: Mapping[int, tuple[VegetaResult, ...]]  # by request rate
    cpu_us: tuple[Mapping[str, float], ...] = ()  # per wrk run: CPU microseconds per request, by proxy

    @property
    def rps(self) -> float:
        return statistics.median(w.requests_per_second for w in self.wrk)

    def p50_ms(self, rate: int) -> float:
        return statistics.median(v.p50_ms for v in self.vegeta[rate])

    def p99_ms(self, rate: int) -> float:
        return statistics.median(v.p99_ms for v in self.vegeta[rate])

    def success(self, rate: int) -> float:
        return min(v.success for v in self.vegeta[rate])

    @property
    def errors(self) -> int:
        return sum(w.non_2xx + w.socket_errors for w in self.wrk)

    @property
    def proxy_labels(self) -> tuple[str, ...]:
        return tuple(self.cpu_us[0]) if self.cpu_us else ()

    def cpu_per_request(self, label: str) -> float:
        return statistics.median(c[label] for c in self.cpu_us)

    @property
    def cpu_total(self) -> float:
        return sum(self.cpu_per_request(label) for label in self.proxy_labels)


@dataclass(frozen=True, slots=True)
class Memory:
    idle: Mapping[str, int]  # after start-up, before any traffic
    load: Mapping[str, int]  # peak while load ran
    after: Mapping[str, int]  # idle again after all load


@dataclass(frozen=True, slots=True)
class Verdict:
    measure: str
    result: str
    target: str
    met: bool | None  # None: cannot be judged from this run


@dataclass(frozen=True, slots=True)
class Context:
    command: str
    date: str
    machine: str
    load_before: str
    rounds: int
    wrk_seconds: float
    wrk_connections: int
    vegeta_seconds: float
    rates: tuple[int, ...]  # the first is the one the targets are about
    uvloop: Mapping[str, bool]


def verdicts(
    direct: PathResult, haproxy: PathResult, mesh: PathResult, rate: int, memory: Memory, proxies: Sequence[str]
) -> list[Verdict]:
    out: list[Verdict] = []
    ratio = mesh.rps / haproxy.rps if haproxy.rps else 0.0
    out.append(
        Verdict(
            "max throughput, meshfleet pair / haproxy pair",
            f"{ratio:.2f}x ({mesh.rps:,.0f} / {haproxy.rps:,.0f} req/s)",
            f">= {THROUGHPUT_TARGET}x",
            ratio >= THROUGHPUT_TARGET,
        )
    )
    mesh_added = mesh.p99_ms(rate) - direct.p99_ms(rate)
    ha_added = haproxy.p99_ms(rate) - direct.p99_ms(rate)
    measure = f"added p99 at {rate:,} req/s, meshfleet pair / haproxy pair"
    if ha_added > 0:
        added_ratio = mesh_added / ha_added
        out.append(
            Verdict(
                measure,
                f"{added_ratio:.2f}x ({mesh_added:+.2f} ms / {ha_added:+.2f} ms)",
                f"<= {ADDED_P99_TARGET}x",
                added_ratio <= ADDED_P99_TARGET,
            )
        )
    else:
        # The haproxy pair's p99 was within the direct path's noise: no ratio, but a clear miss stays a miss.
        out.append(
            Verdict(
                measure,
                f"haproxy added {ha_added:+.2f} ms (within noise); meshfleet {mesh_added:+.2f} ms",
                f"<= {ADDED_P99_TARGET}x",
                False if mesh_added > 10 * max(direct.p99_ms(rate), 1.0) else None,
            )
        )
    for label, values, target in (
        ("idle after start", memory.idle, RSS_IDLE_TARGET_MIB),
        ("idle after the load", memory.after, RSS_IDLE_TARGET_MIB),
        ("peak under load", memory.load, RSS_LOAD_TARGET_MIB),
    ):
        mib = max(values[p] for p in proxies) / MIB
        out.append(
            Verdict(
                f"resident memory {label}, larger meshfleet proxy",
                f"{mib:.1f} MiB",
                f"<= {target:.0f} MiB",
                mib <= target,
            )
        )
    return out


def _met(v: Verdict) -> str:
    return "n/a" if v.met is None else ("yes" if v.met else "**no**")


def _cpu(p: PathResult) -> str:
    if not p.proxy_labels:
        return "—"
    parts = ", ".join(f"{label} {p.cpu_per_request(label):.0f}" for label in p.proxy_labels)
    return f"{p.cpu_total:.0f} ({parts})"


def _mib(n: int) -> str:
    return f"{n / MIB:.1f}"


def _intro(ctx: Context) -> list[str]:
    uvloop = ", ".join(f"{k} {'yes' if v else '**no**'}" for k, v in ctx.uvloop.items())
    rates = " and ".join(f"{r:,}" for r in ctx.rates)
    return [
        HEADING,
        "",
        f"Command: `{ctx.command}` (add `--update-results` to rewrite this section) — {ctx.date}",
        "",
        f"Machine: {ctx.machine}; load average before the run {ctx.load_before}. The machine is shared with",
        "other work, so absolute figures move between runs; the paths are measured in the same run,",
        "interleaved, and the CPU cost per request is the steadiest figure.",
        "",
        "Paths, all on 127.0.0.1, with the same backend (nginx, one process, a fixed 23-byte body), the same",
        "keep-alive clients and the same `Host: web.bench.svc.cluster.local:8080` header:",
        "- **direct**: client -> nginx.",
        "- **haproxy pair** (`nbthread 1` each, `http-reuse always`): client -> haproxy A (plain in; TLS 1.3",
        "  out with a client certificate, server name verified) -> haproxy B (TLS 1.3, client certificate",
        "  required and verified; plain out) -> nginx.",
        "- **meshfleet pair** (one process each, log level warning): client -> `meshfleet proxy` A outbound ->",
        "  mTLS (TLS 1.3, peer identity checked) -> `meshfleet proxy` B inbound -> nginx. uvloop loaded in",
        f"  the proxy processes: {uvloop}.",
        "- **bare Python forwarder pair** (`bench/proxy/floor.py`, one process each, uvloop + httptools",
        "  callbacks on asyncio Protocols, the same certificates and TLS 1.3 hop): parses each head and",
        "  writes it out again and nothing more (no routing, balancing, retries, metrics or policy). It",
        "  shows the floor a Python proxy pays for the event loop, TLS and socket writes before any",
        "  proxy work; it is not part of the targets.",
        "",
        f"Throughput: wrk, 1 thread, {ctx.wrk_connections} connections, {ctx.wrk_seconds:g} s after a warm-up",
        f"(closed loop). Latency: vegeta at fixed rates of {rates} req/s for {ctx.vegeta_seconds:g} s each",
        f"(open loop, keep-alive, at most {ctx.wrk_connections} connections; a request waiting for a",
        "connection counts the wait). Added p99 = path p99 - direct p99 at the same rate. Proxy CPU per",
        "request: user + system CPU time of each proxy process during the measured wrk run divided by the",
        f"requests completed. Figures are the median of {ctx.rounds} interleaved round(s).",
        "",
    ]


def markdown(ctx: Context, paths: Sequence[PathResult], memory: Memory, checks: Sequence[Verdict]) -> str:
    direct = paths[0]
    lines = _intro(ctx)
    head = "| path | max throughput (req/s) | proxy CPU per request (µs) |"
    rule = "|---|---|---|"
    for r in ctx.rates:
        head += f" p50 / p99 at {r:,} req/s (ms) | added p99 (ms) | success |"
        rule += "---|---|---|"
    lines += [head, rule]
    for p in paths:
        row = f"| {p.name} | {p.rps:,.0f} | {_cpu(p)} |"
        for r in ctx.rates:
            added = "—" if p is direct else f"{p.p99_ms(r) - direct.p99_ms(r):+.2f}"
            row += f" {p.p50_ms(r):.2f} / {p.p99_ms(r):.2f} | {added} | {p.success(r) * 100:.1f} % |"
        lines.append(row)
    lines.append("")
    lines.append("wrk errors (non-2xx and socket errors): " + ", ".join(f"{p.name} {p.errors}" for p in paths) + ".")
    if ctx.rounds > 1:
        per_round = "; ".join(f"{p.name} " + ", ".join(f"{w.requests_per_second:,.0f}" for w in p.wrk) for p in paths)
        lines.append(f"Throughput per round (req/s): {per_round}.")
    lines += [
        "",
        "Resident memory (VmRSS from /proc, MiB):",
        "",
        "| process | idle after start | peak under load | idle after the load |",
        "|---|---|---|---|",
    ]
    for name in memory.idle:
        lines.append(f"| {name} | {_mib(memory.idle[name])} | {_mib(memory.load[name])} | {_mib(memory.after[name])} |")
    lines += [
        "",
        "For context: Linkerd publishes 18-26 MB of memory for its proxy, Istio's Envoy sidecar about 150 MB.",
        "",
        "| target (issue 6) | result | target | met |",
        "|---|---|---|---|",
    ]
    lines += [f"| {v.measure} | {v.result} | {v.target} | {_met(v)} |" for v in checks]
    lines.append("")
    return "\n".join(lines)


def replace_section(document: str, section: str, heading: str = HEADING) -> str:
    """Put ``section`` in place of the one under ``heading`` (up to the next ``## ``), or append it."""
    start = document.find(heading)
    if start < 0:
        return document.rstrip("\n") + "\n\n" + section
    end = document.find("\n## ", start + len(heading))
    tail = "" if end < 0 else document[end + 1 :]
    return document[:start] + section + ("\n" + tail if tail else "")
