"""Exponential back-off for clusters that fail or cannot be reached (pure)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True, slots=True)
class Backoff:
    """``base * factor**(failures-1)`` seconds, capped; the first retry comes after ``base``."""

    base: float = 2.0
    factor: float = 2.0
    cap: float = 300.0

    def delay(self, failures: int) -> timedelta:
        if failures <= 0:
            return timedelta(0)
        # The exponent is bounded so the float never overflows on a cluster that has been down for days.
        seconds = self.base * self.factor ** min(failures - 1, 64)
        return timedelta(seconds=min(seconds, self.cap))

    def next_attempt(self, now: datetime, failures: int) -> datetime:
        return now + self.delay(failures)
