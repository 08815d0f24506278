"""``bench/proxy.sh``: direct vs haproxy pair vs meshfleet proxy pair, in one run on this machine.

Starts nginx, an haproxy pair and a meshfleet proxy pair on 127.0.0.1,
checks each path answers with the backend's body, measures resident memory
idle, then for each round and each path: a wrk warm-up, a wrk closed-loop
throughput run, and a vegeta run at a fixed rate; memory is sampled
throughout. Prints a Markdown section and, with ``--update-results``, puts it
in bench/RESULTS.md. Every process is stopped at the end, also on failure.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import pstats
import shutil
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from .configs import BACKEND_BODY, haproxy_client_side, haproxy_server_side, nginx_conf
from .loadgen import PeakRss, VegetaResult, WrkResult, ensure_vegeta, run_vegeta, run_wrk, snapshot_rss
from .pair import AUTHORITY, start_meshfleet_pair
from .procs import BenchError, ProcessSet, cpu_seconds, free_port, maps_mention, wait_for_port
from .report import HEADING, Context, Memory, PathResult, markdown, verdicts
from .section import say, section_main

REPO = Path(__file__).resolve().parents[2]
MESH_A, MESH_B = "meshfleet proxy A (outbound)", "meshfleet proxy B (inbound)"
FLOOR = "bare Python forwarder pair"


@dataclass(frozen=True, slots=True)
class Target:
    name: str
    port: int
    proxies: tuple[tuple[str, int], ...] = ()  # (label, pid) of the proxy processes on this path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"


_say = say


def _write_private(path: Path, data: bytes) -> Path:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    return path


def _haproxy_crt(directory: Path, name: str) -> Path:
    """haproxy wants the chain and its key in one file; it holds a key, so 0600 like the key itself."""
    return _write_private(
        directory / f"haproxy-{name}.pem", (directory / "cert.pem").read_bytes() + (directory / "key.pem").read_bytes()
    )


def _check_path(t: Target) -> None:
    req = urllib.request.Request(t.url, headers={"Host": AUTHORITY})
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:  # noqa: S310 - loopback only
            body = resp.read().decode()
            status = resp.status
    except OSError as e:
        raise BenchError(f"{t.name}: a request through {t.url} failed: {e}") from e
    if status != 200 or body != BACKEND_BODY:
        raise BenchError(f"{t.name}: expected 200 and the backend's body, got {status} {body!r}")


def _machine() -> str:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} cores ({model}), Linux {platform.release()}, Python {platform.python_version()}"


def _require(tool: str) -> str:
    found = shutil.which(tool) or shutil.which(tool, path="/usr/sbin:/usr/bin")
    if found is None:
        raise BenchError(f"{tool} is missing (Debian package {tool})")
    return found


def _print_profiles(profile_dir: Path) -> None:
    for path in sorted(profile_dir.glob("*.pstats")):
        print(f"\n### cProfile of {path.stem} (top 25 by own time)\n", file=sys.stderr)
        pstats.Stats(str(path), stream=sys.stderr).sort_stats("tottime").print_stats(25)


def _start_floor_pair(
    procs: ProcessSet, workdir: Path, backend_port: int, server_name: str
) -> tuple[tuple[int, int], tuple[int, int]]:
    """The bare forwarder pair (``bench.proxy.floor``) on the meshfleet pair's certificates: (pid, port) of A, B."""
    a_port, b_port = free_port(), free_port()
    python = [sys.executable, "-m", "bench.proxy.floor"]
    env = {**os.environ, "PYTHONPATH": str(REPO)}

    def files(side: str) -> list[str]:
        d = workdir / f"id-{side}"
        return [f"--cert={d / 'cert.pem'}", f"--key={d / 'key.pem'}", f"--ca={d / 'bundle.pem'}"]

    server_side = ["--role=server", f"--listen={b_port}", f"--upstream={backend_port}", *files("server")]
    client_side = ["--role=client", f"--listen={a_port}", f"--upstream={b_port}", f"--server-name={server_name}"]
    b = procs.start("floor-b", [*python, *server_side], env=env)
    a = procs.start("floor-a", [*python, *client_side, *files("client")], env=env)
    wait_for_port(b, b_port)
    wait_for_port(a, a_port)
    return (a.pid, a_port), (b.pid, b_port)


def run(args: argparse.Namespace, workdir: Path) -> str:
    wrk_bin, nginx, haproxy = _require("wrk"), _require("nginx"), _require("haproxy")
    del wrk_bin
    vegeta = ensure_vegeta(workdir / "vegeta-build.log")
    load_before = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    profile_dir = workdir / "profiles" if args.profile else None
    if profile_dir:
        profile_dir.mkdir()
    with ProcessSet(workdir) as procs:
        backend_port = free_port()
        (workdir / "nginx.conf").write_text(nginx_conf(workdir, backend_port))
        ngx = procs.start(
            "nginx",
            [nginx, "-p", str(workdir), "-e", str(workdir / "nginx-error.log"), "-c", str(workdir / "nginx.conf")],
        )
        wait_for_port(ngx, backend_port)

        mesh = start_meshfleet_pair(procs, workdir, backend_port, profile_dir=profile_dir)
        ha_b_port, ha_a_port = free_port(), free_port()
        server_dir, client_dir = workdir / "id-server", workdir / "id-client"
        (workdir / "haproxy-b.cfg").write_text(
            haproxy_server_side(ha_b_port, backend_port, _haproxy_crt(server_dir, "server"), server_dir / "bundle.pem")
        )
        (workdir / "haproxy-a.cfg").write_text(
            haproxy_client_side(
                ha_a_port,
                ha_b_port,
                _haproxy_crt(client_dir, "client"),
                client_dir / "bundle.pem",
                mesh.server_identity,
            )
        )
        ha_b = procs.start("haproxy-b", [haproxy, "-db", "-f", str(workdir / "haproxy-b.cfg")])
        ha_a = procs.start("haproxy-a", [haproxy, "-db", "-f", str(workdir / "haproxy-a.cfg")])
        wait_for_port(ha_b, ha_b_port)
        wait_for_port(ha_a, ha_a_port)
        floor_a, floor_b = _start_floor_pair(procs, workdir, backend_port, mesh.server_identity)

        targets = [
            Target("direct", backend_port),
            Target("haproxy pair", ha_a_port, (("A", ha_a.pid), ("B", ha_b.pid))),
            Target("meshfleet pair", mesh.outbound_port, (("A", mesh.client.pid), ("B", mesh.server.pid))),
            Target(FLOOR, floor_a[1], (("A", floor_a[0]), ("B", floor_b[0]))),
        ]
        for t in targets:
            _check_path(t)
        pids = {
            MESH_A: mesh.client.pid,
            MESH_B: mesh.server.pid,
            "haproxy A": ha_a.pid,
            "haproxy B": ha_b.pid,
            "nginx (backend)": ngx.pid,
        }
        uvloop = {
            "A": maps_mention(mesh.client.pid, "uvloop/loop"),
            "B": maps_mention(mesh.server.pid, "uvloop/loop"),
        }
        time.sleep(2)
        idle = snapshot_rss(pids)
        _say("idle memory: " + ", ".join(f"{k} {v / 2**20:.1f} MiB" for k, v in idle.items()))

        wrk: dict[str, list[WrkResult]] = {t.name: [] for t in targets}
        veg: dict[str, dict[int, list[VegetaResult]]] = {t.name: {r: [] for r in args.rates} for t in targets}
        cpu: dict[str, list[dict[str, float]]] = {t.name: [] for t in targets}
        with PeakRss(pids) as peak:
            for r in range(args.rounds):
                order = targets if r % 2 == 0 else list(reversed(targets))
                for t in order:
                    for child in procs.children:
                        child.check_alive()
                    run_wrk(t.url, AUTHORITY, connections=args.connections, seconds=args.warmup)
                    cpu_before = {label: cpu_seconds(pid) for label, pid in t.proxies}
                    w = run_wrk(t.url, AUTHORITY, connections=args.connections, seconds=args.wrk_seconds)
                    cpu[t.name].append(
                        {
                            label: (cpu_seconds(pid) - cpu_before[label]) / max(w.requests, 1) * 1e6
                            for label, pid in t.proxies
                        }
                    )
                    wrk[t.name].append(w)
                    _say(
                        f"round {r + 1} {t.name}: {w.requests_per_second:,.0f} req/s "
                        f"({w.non_2xx + w.socket_errors} errors), CPU per request "
                        + ", ".join(f"{k} {v:.0f} µs" for k, v in cpu[t.name][-1].items())
                    )
                    for rate in args.rates:
                        v = run_vegeta(
                            vegeta,
                            t.url,
                            AUTHORITY,
                            rate=rate,
                            seconds=args.vegeta_seconds,
                            connections=args.connections,
                            workdir=workdir,
                        )
                        veg[t.name][rate].append(v)
                        _say(
                            f"round {r + 1} {t.name} at {rate}/s: p50 {v.p50_ms:.2f} ms p99 {v.p99_ms:.2f} ms "
                            f"success {v.success:.4f}"
                        )
        time.sleep(3)
        after = snapshot_rss(pids)
        memory = Memory(idle, dict(peak.peak), after)
        procs.stop_all()  # now, so cProfile output is written before it is read
    if profile_dir:
        _print_profiles(profile_dir)

    results = [
        PathResult(t.name, tuple(wrk[t.name]), {r: tuple(v) for r, v in veg[t.name].items()}, tuple(cpu[t.name]))
        for t in targets
    ]
    direct, ha, mf = results[:3]
    checks = verdicts(direct, ha, mf, args.rates[0], memory, [MESH_A, MESH_B])
    ctx = Context(
        command=" ".join(["bench/proxy.sh", *args.argv]),
        date=dt.date.today().isoformat(),
        machine=_machine(),
        load_before=load_before,
        rounds=args.rounds,
        wrk_seconds=args.wrk_seconds,
        wrk_connections=args.connections,
        vegeta_seconds=args.vegeta_seconds,
        rates=tuple(args.rates),
        uvloop=uvloop,
    )
    return markdown(ctx, results, memory, checks)


def main(argv: list[str] | None = None) -> int:
    raw = list(sys.argv[1:] if argv is None else argv)
    ap = argparse.ArgumentParser(prog="bench/proxy.sh", description=__doc__.split("\n\n")[0] if __doc__ else None)
    ap.add_argument("--rounds", type=int, default=2, help="interleaved rounds over the paths (median)")
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--warmup", type=float, default=2.0, help="seconds of wrk before each measured run")
    ap.add_argument("--wrk-seconds", type=float, default=10.0)
    ap.add_argument(
        "--rates",
        type=lambda text: [int(x) for x in text.split(",")],
        default=[1000, 200],
        help="vegeta's fixed request rates, comma-separated; the targets are judged at the first",
    )
    ap.add_argument("--vegeta-seconds", type=float, default=10.0)
    ap.add_argument("--profile", action="store_true", help="run the meshfleet proxies under cProfile and print it")
    return section_main(ap, raw, run, heading=HEADING, prefix="meshfleet-bench-proxy-")


if __name__ == "__main__":
    sys.exit(main())
