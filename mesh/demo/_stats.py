"""Request counters and latency quantiles of the demo app (pure).

Latencies are kept in a bounded ring so a long benchmark does not grow the
process; quantiles are computed over the most recent samples.
"""

from __future__ import annotations

import math
from collections import Counter, deque
from dataclasses import dataclass, field

_WINDOW = 4096


@dataclass(slots=True)
class Stats:
    requests: int = 0
    by_status: Counter[int] = field(default_factory=Counter)
    downstream_failures: int = 0
    _latencies: deque[float] = field(default_factory=lambda: deque(maxlen=_WINDOW))

    def record(self, status: int, latency_ms: float) -> None:
        self.requests += 1
        self.by_status[status] += 1
        self._latencies.append(latency_ms)

    def quantile(self, q: float) -> float | None:
        if not self._latencies:
            return None
        ordered = sorted(self._latencies)
        # Nearest rank: the smallest sample with at least q of all samples at or below it.
        index = min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))
        return ordered[index]

    def snapshot(self) -> dict[str, object]:
        return {
            "requests": self.requests,
            "byStatus": {str(k): v for k, v in sorted(self.by_status.items())},
            "downstreamFailures": self.downstream_failures,
            "latencyMs": {name: self.quantile(q) for name, q in (("p50", 0.5), ("p90", 0.9), ("p99", 0.99))},
        }
