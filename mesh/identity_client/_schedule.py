"""When to renew and how long to back off: pure functions of times and attempt counts."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from mesh.pki import Validity


@dataclass(frozen=True, slots=True)
class RenewalPolicy:
    """Renew at `fraction` of a leaf's usable life, but never sooner than `min_delay` nor later than `max_delay`.

    The floor stops a very short-lived (clamped) leaf from causing a tight
    renewal loop; the ceiling bounds how stale a long-lived leaf may get.

    A leaf that does not chain to the newest anchor of the trust bundle is
    asked for again every `off_anchor_recheck` seconds: during a rotation the
    identity service moves to an issuer under the new anchor, and proxies must
    follow before the old anchor leaves the bundle, not at 70 % of a day-long
    leaf.  Until the issuer has moved, the answer is another leaf under the
    old anchor.
    """

    fraction: float = 0.7
    min_delay: float = 10.0
    max_delay: float = 24 * 3600.0
    off_anchor_recheck: float = 30.0

    def __post_init__(self) -> None:
        if not 0.0 < self.fraction <= 1.0:
            raise ValueError(f"renewal fraction must be in (0, 1], got {self.fraction}")
        if not 0.0 <= self.min_delay <= self.max_delay:
            raise ValueError("need 0 <= min_delay <= max_delay")

    def delay(self, validity: Validity, *, received_at: datetime, now: datetime,
              on_newest_anchor: bool = True) -> float:
        """Seconds from `now` until the leaf should be renewed."""
        due = validity.renew_at(self.fraction, received_at=received_at)
        if not on_newest_anchor:
            due = min(due, received_at + timedelta(seconds=self.off_anchor_recheck))
        seconds = (due - now).total_seconds()
        return min(max(seconds, self.min_delay), self.max_delay)


@dataclass(frozen=True, slots=True)
class Backoff:
    """Exponential backoff with jitter: attempt n waits about base * 2**(n-1), capped.

    Half the delay is fixed and half random, so a fleet of proxies that lost
    the identity service together does not come back in lockstep, yet no
    retry fires immediately.
    """

    base: float = 1.0
    cap: float = 60.0
    rng: random.Random = field(default_factory=random.Random, compare=False)

    def delay(self, attempt: int, *, retry_after: float | None = None) -> float:
        if attempt < 1:
            raise ValueError("attempts count from 1")
        ceiling = min(self.cap, self.base * 2.0 ** min(attempt - 1, 32))
        wait = ceiling / 2 + self.rng.random() * ceiling / 2
        # A server that says when to come back is believed, within the cap.
        if retry_after is not None:
            wait = max(wait, min(retry_after, self.cap))
        return wait
