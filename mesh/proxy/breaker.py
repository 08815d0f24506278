"""Per-endpoint circuit breaking by consecutive-failure accrual.

    CLOSED --(N failures in a row)--> OPEN --(back-off elapsed)--> PROBING
      ^                                ^                              |
      |                                +-------(probe fails)----------+
      +-----------------------(probe succeeds)------------------------+

While OPEN the endpoint gets no traffic. After the back-off, exactly one
request is let through as a probe; its outcome decides. A probe that ends
without an outcome (the client went away, the request's own deadline
passed) is given back: the endpoint is OPEN and due for the next probe at
once, never left waiting on an answer that will not come. Each consecutive
ejection doubles the back-off (1 s, 2 s, 4 s ... capped at 60 s) with
jitter so that many proxies ejecting the same endpoint do not probe it in
lockstep. Pure: time is passed in and randomness injected.
"""

from __future__ import annotations

import enum
import random
from dataclasses import dataclass

DEFAULT_FAILURES = 7
DEFAULT_MIN_BACKOFF = 1.0
DEFAULT_MAX_BACKOFF = 60.0
DEFAULT_JITTER = 0.5


class BreakerState(enum.Enum):
    CLOSED = "closed"
    OPEN = "open"
    PROBING = "probing"


@dataclass(frozen=True, slots=True)
class BreakerConfig:
    consecutive_failures: int = DEFAULT_FAILURES
    min_backoff: float = DEFAULT_MIN_BACKOFF
    max_backoff: float = DEFAULT_MAX_BACKOFF
    jitter: float = DEFAULT_JITTER  # fraction of the back-off that is randomised away

    def __post_init__(self) -> None:
        if self.consecutive_failures < 1:
            raise ValueError("consecutive_failures must be at least 1")
        if not 0 < self.min_backoff <= self.max_backoff:
            raise ValueError("need 0 < min_backoff <= max_backoff")
        if not 0 <= self.jitter < 1:
            raise ValueError("jitter must be in [0, 1)")


class Breaker:
    """Tracks one endpoint."""

    def __init__(self, config: BreakerConfig | None = None, rng: random.Random | None = None) -> None:
        self._config = config or BreakerConfig()
        self._rng = rng or random.Random()
        self.state = BreakerState.CLOSED
        self._failures = 0
        self._ejections = 0
        self._reopen_at = 0.0

    @property
    def ejections(self) -> int:
        """How many times in a row the endpoint has been ejected (0 when healthy)."""
        return self._ejections

    def available(self, now: float) -> bool:
        """Whether a request may be sent now (without claiming the probe)."""
        if self.state is BreakerState.CLOSED:
            return True
        return self.state is BreakerState.OPEN and now >= self._reopen_at

    def acquire(self, now: float) -> bool:
        """Claim permission for one request; in OPEN past the back-off this claims the probe."""
        if self.state is BreakerState.CLOSED:
            return True
        if self.state is BreakerState.OPEN and now >= self._reopen_at:
            self.state = BreakerState.PROBING
            return True
        return False

    def abandon_probe(self, now: float) -> None:
        """The probe ended without telling anything about the endpoint: let the next request probe."""
        if self.state is BreakerState.PROBING:
            self.state = BreakerState.OPEN
            self._reopen_at = now

    def record_success(self) -> None:
        self.state = BreakerState.CLOSED
        self._failures = 0
        self._ejections = 0

    def record_failure(self, now: float) -> None:
        if self.state is BreakerState.PROBING:
            self._eject(now)
            return
        if self.state is BreakerState.OPEN:
            return  # a request started before the ejection; already accounted for
        self._failures += 1
        if self._failures >= self._config.consecutive_failures:
            self._eject(now)

    def _eject(self, now: float) -> None:
        cfg = self._config
        backoff = min(cfg.max_backoff, cfg.min_backoff * (2.0**self._ejections))
        backoff *= 1.0 - cfg.jitter * self._rng.random()
        self._ejections += 1
        self._failures = 0
        self.state = BreakerState.OPEN
        self._reopen_at = now + backoff

    def reopen_at(self) -> float | None:
        return self._reopen_at if self.state is BreakerState.OPEN else None
