"""The two load generators and the memory sampler.

wrk drives a closed loop (each connection sends its next request when the
previous answer arrives) and so measures maximum throughput. vegeta sends at
a fixed rate whatever the answers do, so slow answers cannot hold back the
schedule (no coordinated omission): that is the one to read latency from.
The parsers are pure; the runners only start the tools.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from .procs import BenchError, cpu_seconds, rss_bytes

VEGETA_MODULE = "github.com/tsenart/vegeta/v12"
VEGETA_VERSION = "v12.13.0"


@dataclass(frozen=True, slots=True)
class WrkResult:
    requests_per_second: float
    requests: int
    non_2xx: int
    socket_errors: int


@dataclass(frozen=True, slots=True)
class VegetaResult:
    rate: float  # requests per second actually sent
    p50_ms: float
    p99_ms: float
    max_ms: float
    success: float  # ratio of 2xx/3xx answers
    requests: int


def parse_wrk(text: str) -> WrkResult:
    m = re.search(r"^Requests/sec:\s+([\d.]+)", text, re.M)
    n = re.search(r"^\s*(\d+) requests in ", text, re.M)
    if m is None or n is None:
        raise BenchError(f"wrk printed no throughput:\n{text}")
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    return WrkResult(
        requests_per_second=float(m.group(1)),
        requests=int(n.group(1)),
        non_2xx=int(non2xx.group(1)) if non2xx else 0,
        socket_errors=sum(int(g) for g in sock.groups()) if sock else 0,
    )


def parse_vegeta_report(text: str) -> VegetaResult:
    try:
        doc = json.loads(text)
        lat = doc["latencies"]
        return VegetaResult(
            rate=float(doc["rate"]),
            p50_ms=lat["50th"] / 1e6,
            p99_ms=lat["99th"] / 1e6,
            max_ms=lat["max"] / 1e6,
            success=float(doc["success"]),
            requests=int(doc["requests"]),
        )
    except (ValueError, KeyError, TypeError) as e:
        raise BenchError(f"vegeta report not understood ({e}):\n{text[:2000]}") from e


def bench_bin_dir() -> Path:
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "meshfleet" / "bench-bin"


def ensure_vegeta(log: Path) -> Path:
    """The vegeta binary, built from its Go module into the cache the first time it is needed."""
    gobin = bench_bin_dir() / f"vegeta-{VEGETA_VERSION}"
    binary = gobin / "vegeta"
    if binary.exists():
        return binary
    go = shutil.which("go") or "/usr/local/go/bin/go"
    gobin.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "GOTOOLCHAIN": "local", "GOBIN": str(gobin)}
    with log.open("wb") as out:
        code = subprocess.call(
            [go, "install", f"{VEGETA_MODULE}@{VEGETA_VERSION}"], env=env, stdout=out, stderr=subprocess.STDOUT
        )
    if code != 0 or not binary.exists():
        raise BenchError(f"building vegeta {VEGETA_VERSION} failed (status {code}); see {log}")
    return binary


def run_wrk(
    url: str, host: str, *, connections: int, seconds: float, headers: Sequence[str] = ()
) -> WrkResult:
    argv = [
        "wrk",
        "-t1",
        f"-c{connections}",
        f"-d{seconds:g}s",
        "--timeout=5s",
        "-H",
        f"Host: {host}",
        *(arg for header in headers for arg in ("-H", header)),
        url,
    ]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 30, check=False)
    if done.returncode != 0:
        raise BenchError(f"wrk failed ({done.returncode}): {done.stderr or done.stdout}")
    return parse_wrk(done.stdout)


@dataclass(frozen=True, slots=True)
class Measured:
    warmup: WrkResult
    run: WrkResult
    cpu_us_per_request: float  # of the processes measured, over the measured run


def measure_wrk(
    url: str,
    host: str,
    pids: Sequence[int],
    *,
    connections: int,
    seconds: float,
    warmup: float = 2.0,
    headers: Sequence[str] = (),
    what: str = "",
) -> Measured:
    """A wrk warm-up, then a measured run with the CPU ``pids`` used per request; any error answer fails it."""
    warm = run_wrk(url, host, connections=connections, seconds=warmup, headers=headers)
    before = sum(cpu_seconds(pid) for pid in pids)
    w = run_wrk(url, host, connections=connections, seconds=seconds, headers=headers)
    used = sum(cpu_seconds(pid) for pid in pids) - before
    if w.non_2xx or w.socket_errors:
        raise BenchError(f"{what or url}: {w.non_2xx} non-2xx answers, {w.socket_errors} socket errors")
    return Measured(warm, w, used / max(w.requests, 1) * 1e6)


def run_vegeta(
    vegeta: Path, url: str, host: str, *, rate: int, seconds: float, connections: int, workdir: Path
) -> VegetaResult:
    """Open loop at ``rate``; at most ``connections`` keep-alive connections, like the wrk runs.

    Workers are not capped, so a request that waits for a free connection
    counts that wait in its latency instead of delaying the schedule. Without
    the connection cap a stall makes vegeta open a connection per pending
    request, and the TLS hops then spend the run in handshakes.
    """
    results = workdir / "vegeta.bin"
    attack = subprocess.run(
        [
            str(vegeta),
            "attack",
            f"-rate={rate}/s",
            f"-duration={seconds:g}s",
            "-timeout=5s",
            "-keepalive=true",
            f"-connections={connections}",
            f"-max-connections={connections}",
            "-header",
            f"Host: {host}",
            f"-output={results}",
        ],
        input=f"GET {url}\n",
        capture_output=True,
        text=True,
        timeout=seconds + 30,
        check=False,
    )
    if attack.returncode != 0:
        raise BenchError(f"vegeta attack failed ({attack.returncode}): {attack.stderr}")
    report = subprocess.run(
        [str(vegeta), "report", "-type=json", str(results)], capture_output=True, text=True, timeout=60, check=False
    )
    if report.returncode != 0:
        raise BenchError(f"vegeta report failed ({report.returncode}): {report.stderr}")
    return parse_vegeta_report(report.stdout)


class PeakRss:
    """Samples the resident memory of some processes in a thread and keeps each one's peak."""

    def __init__(self, pids: Mapping[str, int], every: float = 0.1) -> None:
        self.pids = dict(pids)
        self.peak: dict[str, int] = dict.fromkeys(self.pids, 0)
        self._every = every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self._every)

    def sample(self) -> None:
        for name, pid in self.pids.items():
            try:
                self.peak[name] = max(self.peak[name], rss_bytes(pid))
            except BenchError:
                pass  # the process is gone; its earlier samples stand

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.sample()


def snapshot_rss(pids: Mapping[str, int]) -> dict[str, int]:
    return {name: rss_bytes(pid) for name, pid in pids.items()}
