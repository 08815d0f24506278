"""Per-ServiceAccount token buckets (pure: the caller passes the time).

Many pods share a ServiceAccount, so the bucket is sized for a rollout's burst
and refills steadily; idle, full buckets are forgotten so the table stays
small however many ServiceAccounts come and go.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class _Bucket:
    tokens: float
    updated: float


class TokenBuckets:
    """`take(key, now)` spends one token from `key`'s bucket."""

    def __init__(self, *, rate: float, burst: int, max_keys: int = 10_000) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("rate must be positive and burst at least 1")
        self.rate = rate
        self.burst = float(burst)
        self.max_keys = max_keys
        self._buckets: dict[str, _Bucket] = {}

    def take(self, key: str, now: float) -> float:
        """0.0 if a token was spent, else the seconds until one will be available."""
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= self.max_keys:
                self._forget_full(now)
            bucket = self._buckets[key] = _Bucket(tokens=self.burst, updated=now)
        else:
            bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.updated) * self.rate)
            bucket.updated = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return 0.0
        return (1.0 - bucket.tokens) / self.rate

    def _forget_full(self, now: float) -> None:
        for key, b in list(self._buckets.items()):
            if b.tokens + (now - b.updated) * self.rate >= self.burst:
                del self._buckets[key]
        if len(self._buckets) >= self.max_keys:
            # Still full of busy buckets: drop the stalest rather than grow without bound.
            oldest = min(self._buckets, key=lambda k: self._buckets[k].updated)
            del self._buckets[oldest]

    def __len__(self) -> int:
        return len(self._buckets)
