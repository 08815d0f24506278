"""The demo app's settings and its latency distributions (pure).

A latency distribution is written as ``fixed:20``, ``uniform:5-50``,
``normal:30,10`` or ``exp:25`` (milliseconds).  Sampling takes the random
source as an argument so tests can pin it.
"""

from __future__ import annotations

import argparse
import random
from collections.abc import Callable
from dataclasses import dataclass

from mesh.demo.errors import DemoConfigError


@dataclass(frozen=True, slots=True)
class Latency:
    kind: str  # fixed | uniform | normal | exp
    a: float
    b: float = 0.0

    def sample_ms(self, rng: random.Random) -> float:
        if self.kind == "fixed":
            value = self.a
        elif self.kind == "uniform":
            value = rng.uniform(self.a, self.b)
        elif self.kind == "normal":
            value = rng.gauss(self.a, self.b)
        else:
            value = rng.expovariate(1.0 / self.a) if self.a > 0 else 0.0
        return max(0.0, value)


def parse_latency(text: str) -> Latency:
    kind, _, rest = text.partition(":")
    try:
        if kind == "fixed":
            lat = Latency("fixed", float(rest))
        elif kind == "uniform":
            low, high = rest.split("-", 1)
            lat = Latency("uniform", float(low), float(high))
            if lat.b < lat.a:
                raise DemoConfigError(f"--latency {text!r}: the upper bound is below the lower one")
        elif kind == "normal":
            mean, sd = rest.split(",", 1)
            lat = Latency("normal", float(mean), float(sd))
        elif kind == "exp":
            lat = Latency("exp", float(rest))
        else:
            raise DemoConfigError(f"--latency {text!r}: the kind must be fixed, uniform, normal or exp")
    except ValueError as e:
        raise DemoConfigError(f"--latency {text!r}: not a distribution ({e})") from e
    if lat.a < 0 or lat.b < 0:
        raise DemoConfigError(f"--latency {text!r}: milliseconds cannot be negative")
    return lat


@dataclass(frozen=True, slots=True)
class DemoConfig:
    name: str
    host: str
    port: int
    latency: Latency
    error_rate: float
    downstream: tuple[str, ...]
    downstream_timeout: float
    run_for: float | None = None
    exit_code: int = 0
    announce: str | None = None
    load_rps: float = 0.0  # requests per second sent on its own to every downstream (a load generator)
    shutdown_delay: float = 0.0  # keep serving this long after SIGTERM, while the endpoint is withdrawn
    check: str | None = None  # instead of serving: GET this URL once and exit 0 on a 200 (an exec probe)
    trace_sample: float = 0.0  # share of load-generator calls that start a sampled trace


def _share(flag: str) -> Callable[[str], float]:
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{flag} must be a number from 0 to 1, not {text!r}") from None
        if not 0.0 <= value <= 1.0:
            raise argparse.ArgumentTypeError(f"{flag} must be from 0 to 1, not {value}")
        return value

    return parse


def _latency(text: str) -> Latency:
    try:
        return parse_latency(text)
    except DemoConfigError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="meshfleet demo-app",
                                description="A small HTTP service for examples, tests and benchmarks.")
    p.add_argument("--name", default="demo", help="the name this service reports (default demo)")
    p.add_argument("--host", default="0.0.0.0", help="address to listen on (default 0.0.0.0: the pod's addresses)")
    p.add_argument("--port", type=int, default=8080, help="port to listen on (default 8080)")
    p.add_argument("--latency", type=_latency, default=Latency("fixed", 0.0),
                   help="added latency per request: fixed:MS, uniform:LO-HI, normal:MEAN,SD or exp:MEAN")
    p.add_argument("--error-rate", type=_share("--error-rate"), default=0.0,
                   help="share of requests answered 500 (0..1)")
    p.add_argument("--downstream", action="append", default=[], metavar="URL",
                   help="URL to call for every request before answering (repeatable)")
    p.add_argument("--downstream-timeout", type=float, default=5.0, help="seconds per downstream call")
    p.add_argument("--run-for", type=float, metavar="SECONDS",
                   help="stop after this many seconds (a job-like or crashing workload)")
    p.add_argument("--exit-code", type=int, default=0, help="exit status after --run-for (default 0)")
    p.add_argument("--load", type=float, default=0.0, metavar="RPS",
                   help="also call every --downstream RPS times a second on its own: a load generator")
    p.add_argument("--trace-sample", type=_share("--trace-sample"), default=0.0, metavar="SHARE",
                   help="with --load: start a sampled W3C trace on this share of calls (0..1)")
    p.add_argument("--shutdown-delay", type=float, default=0.0, metavar="SECONDS",
                   help="after SIGTERM keep serving this long before stopping (lets clients stop sending first)")
    p.add_argument("--check", metavar="URL",
                   help="do not serve: GET URL once and exit 0 if it answers 200, else 1 (for exec probes)")
    p.add_argument("--announce", metavar="FILE",
                   help="append '<name> <unix-ns>' to FILE once listening (shows start order in examples)")
    return p


def parse_args(argv: list[str]) -> DemoConfig:
    ns = parser().parse_args(argv)
    if not 0 <= ns.port <= 65535:
        raise DemoConfigError(f"--port {ns.port}: not a TCP port")
    if not 0 <= ns.load <= 10000:
        raise DemoConfigError(f"--load {ns.load}: requests per second must be from 0 to 10000")
    if ns.load and not ns.downstream:
        raise DemoConfigError("--load needs at least one --downstream to send requests to")
    if ns.shutdown_delay < 0:
        raise DemoConfigError(f"--shutdown-delay {ns.shutdown_delay}: seconds cannot be negative")
    if ns.run_for is not None and ns.run_for < 0:
        raise DemoConfigError(f"--run-for {ns.run_for}: seconds cannot be negative")
    return DemoConfig(ns.name, ns.host, ns.port, ns.latency, ns.error_rate, tuple(ns.downstream),
                      ns.downstream_timeout, ns.run_for, ns.exit_code, ns.announce, ns.load,
                      ns.shutdown_delay, ns.check, ns.trace_sample)
