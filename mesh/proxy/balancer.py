"""Power-of-two-choices load balancing over peak-EWMA latency.

Each endpoint keeps a latency estimate that jumps up at once to any slower
observation (the "peak") and decays back towards faster ones with a time
constant, so an endpoint that turns slow is avoided quickly and forgiven
slowly. The cost of an endpoint is that estimate times (in-flight + 1),
divided by its weight. For each pick, two distinct eligible endpoints are
drawn at random and the cheaper one wins: nearly the quality of always
taking the best, without every client stampeding the same endpoint.

Pure: the clock and the random source are injected.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from typing import Generic, TypeVar

DEFAULT_RTT = 0.030
DEFAULT_DECAY = 10.0

Clock = Callable[[], float]
K = TypeVar("K", bound=Hashable)


@dataclass(slots=True)
class EndpointLoad:
    """Mutable per-endpoint statistics (owned by the balancer)."""

    weight: float
    rtt: float
    stamp: float
    pending: int = 0

    def cost(self, now: float, decay: float) -> float:
        rtt = self._decayed(now, decay)
        if rtt == 0.0 and self.pending:
            # An endpoint that has answered instantly so far still carries its load.
            rtt = 1e-6
        return rtt * (self.pending + 1) / self.weight

    def _decayed(self, now: float, decay: float) -> float:
        # Without new observations the estimate drifts down towards zero,
        # so a once-slow endpoint is eventually tried again.
        elapsed = max(0.0, now - self.stamp)
        return self.rtt * math.exp(-elapsed / decay)

    def observe(self, rtt: float, now: float, decay: float) -> None:
        if rtt > self.rtt:
            self.rtt = rtt
        else:
            elapsed = max(0.0, now - self.stamp)
            w = math.exp(-elapsed / decay)
            self.rtt = self.rtt * w + rtt * (1.0 - w)
        self.stamp = now


class Balancer(Generic[K]):
    """Picks among endpoints identified by hashable keys."""

    def __init__(
        self,
        *,
        clock: Clock,
        rng: random.Random | None = None,
        default_rtt: float = DEFAULT_RTT,
        decay: float = DEFAULT_DECAY,
    ) -> None:
        self._clock = clock
        self._rng = rng or random.Random()
        self._default_rtt = default_rtt
        self._decay = decay
        self._loads: dict[K, EndpointLoad] = {}

    def update(self, endpoints: Iterable[tuple[K, float]]) -> None:
        """Replace the endpoint set with (key, weight) pairs, keeping statistics of survivors."""
        now = self._clock()
        fresh: dict[K, EndpointLoad] = {}
        for key, weight in endpoints:
            if weight <= 0:
                continue
            old = self._loads.get(key)
            if old is not None:
                old.weight = weight
                fresh[key] = old
            else:
                fresh[key] = EndpointLoad(weight=weight, rtt=self._default_rtt, stamp=now)
        self._loads = fresh

    def keys(self) -> list[K]:
        return list(self._loads)

    def pick(self, eligible: Callable[[K], bool] = lambda _k: True) -> K | None:
        """Choose an endpoint among those ``eligible`` accepts; None when there is none."""
        candidates = [k for k in self._loads if eligible(k)]
        if not candidates:
            return None
        if len(candidates) == 1:
            return candidates[0]
        a, b = self._rng.sample(candidates, 2)
        now = self._clock()
        cost_a = self._loads[a].cost(now, self._decay)
        cost_b = self._loads[b].cost(now, self._decay)
        return a if cost_a <= cost_b else b

    def start(self, key: K) -> float:
        """Count a request in flight; returns its start time for ``finish``."""
        load = self._loads.get(key)
        if load is not None:
            load.pending += 1
        return self._clock()

    def finish(self, key: K, started: float) -> None:
        """Record a finished request (any outcome) and its latency."""
        load = self._loads.get(key)
        if load is None:
            return  # the endpoint was removed while the request ran
        now = self._clock()
        load.pending = max(0, load.pending - 1)
        load.observe(now - started, now, self._decay)

    def snapshot(self) -> dict[K, tuple[float, int]]:
        """Current (decayed latency estimate in seconds, in-flight) per endpoint, for gauges."""
        now = self._clock()
        return {k: (v._decayed(now, self._decay), v.pending) for k, v in self._loads.items()}
