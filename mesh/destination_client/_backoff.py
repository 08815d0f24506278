"""Reconnect delays: exponential with full jitter, capped (pure; randomness injected)."""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Backoff:
    initial: float = 0.25
    maximum: float = 10.0
    factor: float = 2.0

    def delay(self, attempt: int, rng: random.Random | None = None) -> float:
        """The pause before reconnect ``attempt`` (1 = first retry): uniform in [ceiling/2, ceiling]."""
        ceiling = min(self.maximum, self.initial * self.factor ** max(0, attempt - 1))
        r = (rng or random).random()
        # Half fixed, half random: proxies restarted together do not reconnect in lockstep,
        # and no proxy retries sooner than half the nominal delay.
        return ceiling * (0.5 + 0.5 * r)
