"""Retry policy and retry budget.

A policy says which outcomes may be retried, how often and how long each
try may take. The budget stops retries from multiplying load when a
backend fails outright: within a sliding window, retries may not exceed a
fixed allowance (``min_per_second`` times the window) plus ``ratio`` times
the number of original requests. With the defaults a dead backend sees at
most 1.2 times the client's load plus 10 requests per second.
"""

from __future__ import annotations

import enum
from collections import deque
from dataclasses import dataclass

MAX_RETRYABLE_BODY = 64 * 1024


class Outcome(enum.Enum):
    """What happened to one try, as far as retrying cares."""

    SUCCESS = "success"
    SERVER_ERROR = "5xx"  # any other 5xx answer
    GATEWAY_ERROR = "gateway-error"  # 502, 503, 504 from the backend
    CONNECT_FAILURE = "connect-failure"  # the request never reached the backend
    TIMEOUT = "timeout"  # the per-try timeout ran out


RETRY_CONDITIONS = frozenset({"5xx", "gateway-error", "connect-failure", "timeout"})


def classify_status(status: int) -> Outcome:
    if status in (502, 503, 504):
        return Outcome.GATEWAY_ERROR
    if 500 <= status <= 599:
        return Outcome.SERVER_ERROR
    return Outcome.SUCCESS


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    limit: int = 2  # retries after the first try
    retry_on: frozenset[str] = frozenset({"5xx", "gateway-error", "connect-failure"})
    per_try_timeout: float | None = None

    def __post_init__(self) -> None:
        unknown = set(self.retry_on) - RETRY_CONDITIONS
        if unknown:
            raise ValueError(f"unknown retry conditions: {sorted(unknown)}")
        if self.limit < 0:
            raise ValueError("retry limit must not be negative")

    def wants_retry(self, outcome: Outcome, retries_done: int, body_replayable: bool) -> bool:
        """Whether ``outcome`` justifies another try (before asking the budget)."""
        if outcome is Outcome.SUCCESS or retries_done >= self.limit:
            return False
        if outcome is Outcome.CONNECT_FAILURE:
            # Nothing reached the backend; the only question is whether the
            # body is still in hand to send again.
            return "connect-failure" in self.retry_on and body_replayable
        if not body_replayable:
            return False
        if outcome is Outcome.GATEWAY_ERROR:
            return "gateway-error" in self.retry_on or "5xx" in self.retry_on
        if outcome is Outcome.SERVER_ERROR:
            return "5xx" in self.retry_on
        return "timeout" in self.retry_on


NO_RETRIES = RetryPolicy(limit=0, retry_on=frozenset())


@dataclass(frozen=True, slots=True)
class BudgetConfig:
    ratio: float = 0.2
    min_per_second: float = 10.0
    window: float = 10.0


class RetryBudget:
    """Sliding-window accounting of requests and retries, in one-second buckets."""

    def __init__(self, config: BudgetConfig | None = None, buckets: int = 10) -> None:
        self._config = config or BudgetConfig()
        self._width = self._config.window / buckets
        self._buckets: deque[tuple[int, int, int]] = deque()  # (bucket index, requests, retries)
        self._requests = 0
        self._retries = 0

    def _roll(self, now: float) -> int:
        index = int(now // self._width)
        horizon = index - int(round(self._config.window / self._width)) + 1
        while self._buckets and self._buckets[0][0] < horizon:
            _, req, ret = self._buckets.popleft()
            self._requests -= req
            self._retries -= ret
        if not self._buckets or self._buckets[-1][0] != index:
            self._buckets.append((index, 0, 0))
        return index

    def _add(self, now: float, requests: int, retries: int) -> None:
        index = self._roll(now)
        _, req, ret = self._buckets[-1]
        self._buckets[-1] = (index, req + requests, ret + retries)
        self._requests += requests
        self._retries += retries

    def record_request(self, now: float) -> None:
        """An original (not retried) request was sent."""
        self._add(now, 1, 0)

    def allowance(self, now: float) -> float:
        self._roll(now)
        cfg = self._config
        return cfg.min_per_second * cfg.window + cfg.ratio * self._requests

    def try_withdraw(self, now: float) -> bool:
        """Take one retry from the budget; False when it is spent."""
        allowance = self.allowance(now)  # rolls the window first
        if self._retries + 1 > allowance:
            return False
        self._add(now, 0, 1)
        return True

    def counts(self, now: float) -> tuple[int, int]:
        """(requests, retries) in the current window."""
        self._roll(now)
        return self._requests, self._retries
