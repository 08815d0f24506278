from __future__ import annotations

import random
from collections import Counter

from mesh.proxy.balancer import Balancer


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def simulate(latencies: dict[str, float], requests: int, seed: int = 1) -> Counter[str]:
    """Sequential requests; each endpoint answers after its fixed latency."""
    clock = FakeClock()
    lb: Balancer[str] = Balancer(clock=clock, rng=random.Random(seed))
    lb.update((k, 1.0) for k in latencies)
    picks: Counter[str] = Counter()
    for _ in range(requests):
        key = lb.pick()
        assert key is not None
        picks[key] += 1
        started = lb.start(key)
        clock.now += latencies[key]
        lb.finish(key, started)
        clock.now += 0.001
    return picks


def test_slow_endpoint_receives_far_fewer_requests() -> None:
    picks = simulate({"fast-a": 0.005, "fast-b": 0.005, "slow": 0.200}, requests=3000)
    assert picks["slow"] < 0.05 * 3000
    assert picks["fast-a"] > 0.3 * 3000
    assert picks["fast-b"] > 0.3 * 3000


def test_equal_endpoints_share_load() -> None:
    picks = simulate({"a": 0.01, "b": 0.01, "c": 0.01}, requests=3000)
    for key in "abc":
        assert 700 < picks[key] < 1300


def test_in_flight_requests_steer_new_picks_away() -> None:
    clock = FakeClock()
    lb: Balancer[str] = Balancer(clock=clock, rng=random.Random(3))
    lb.update([("busy", 1.0), ("idle", 1.0)])
    for _ in range(5):
        lb.start("busy")
    assert all(lb.pick() == "idle" for _ in range(20))


def test_weight_zero_removes_and_survivors_keep_history() -> None:
    clock = FakeClock()
    lb: Balancer[str] = Balancer(clock=clock, rng=random.Random(0))
    lb.update([("a", 1.0), ("b", 1.0)])
    started = lb.start("a")
    clock.now += 2.0
    lb.finish("a", started)
    lb.update([("a", 1.0), ("b", 0.0), ("c", 1.0)])
    snap = lb.snapshot()
    assert set(snap) == {"a", "c"}
    assert snap["a"][0] > 1.0  # the slow observation survived the update
    assert abs(snap["c"][0] - 0.030) < 1e-9  # new endpoints start at the default RTT


def test_slow_estimate_decays_so_endpoint_is_retried() -> None:
    clock = FakeClock()
    lb: Balancer[str] = Balancer(clock=clock, rng=random.Random(0))
    lb.update([("a", 1.0)])
    started = lb.start("a")
    clock.now += 1.0
    lb.finish("a", started)
    before = lb.snapshot()["a"][0]
    clock.now += 10.0  # one decay constant later
    after = lb.snapshot()["a"][0]
    assert 0.3 < after / before < 0.4


def test_ineligible_endpoints_are_skipped() -> None:
    lb: Balancer[str] = Balancer(clock=FakeClock(), rng=random.Random(0))
    lb.update([("a", 1.0), ("b", 1.0)])
    assert {lb.pick(lambda k: k != "a") for _ in range(10)} == {"b"}
    assert lb.pick(lambda _k: False) is None
