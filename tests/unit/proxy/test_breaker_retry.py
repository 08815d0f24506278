from __future__ import annotations

import random

import pytest

from mesh.proxy.breaker import Breaker, BreakerConfig, BreakerState
from mesh.proxy.retry import BudgetConfig, Outcome, RetryBudget, RetryPolicy, classify_status


def test_breaker_ejects_after_consecutive_failures_only() -> None:
    b = Breaker(rng=random.Random(0))
    for _ in range(6):
        b.record_failure(0.0)
    b.record_success()
    for _ in range(6):
        b.record_failure(0.0)
    assert b.state is BreakerState.CLOSED
    b.record_failure(0.0)
    assert b.state is BreakerState.OPEN
    assert not b.acquire(0.1)


def test_breaker_allows_one_probe_and_readmits_on_success() -> None:
    b = Breaker(BreakerConfig(consecutive_failures=1, jitter=0.0))
    b.record_failure(10.0)
    assert not b.available(10.5)
    assert b.available(11.0)
    assert b.acquire(11.0)
    assert b.state is BreakerState.PROBING
    assert not b.acquire(11.0)  # only one probe
    b.record_success()
    assert b.state is BreakerState.CLOSED
    assert b.acquire(11.0)


def test_a_probe_without_an_outcome_is_given_back_to_the_next_request() -> None:
    b = Breaker(BreakerConfig(consecutive_failures=1, jitter=0.0))
    b.record_failure(10.0)
    assert b.acquire(11.0)
    assert not b.available(11.5)  # the probe is out
    b.abandon_probe(11.5)
    assert b.available(11.5)
    assert b.acquire(11.5)  # the next request probes at once: no new back-off, no lost endpoint
    b.record_success()
    assert b.state is BreakerState.CLOSED
    b.abandon_probe(12.0)  # nothing to give back
    assert b.state is BreakerState.CLOSED


def test_breaker_backoff_doubles_to_the_cap() -> None:
    b = Breaker(BreakerConfig(consecutive_failures=1, jitter=0.0))
    now = 0.0
    waits = []
    for _ in range(9):
        b.record_failure(now)
        reopen = b.reopen_at()
        assert reopen is not None
        waits.append(reopen - now)
        now = reopen
        assert b.acquire(now)
    assert waits == [1, 2, 4, 8, 16, 32, 60, 60, 60]


def test_breaker_jitter_stays_within_bounds_and_varies() -> None:
    waits = set()
    for seed in range(20):
        b = Breaker(BreakerConfig(consecutive_failures=1, jitter=0.5), random.Random(seed))
        b.record_failure(0.0)
        reopen = b.reopen_at()
        assert reopen is not None
        assert 0.5 <= reopen <= 1.0
        waits.add(round(reopen, 6))
    assert len(waits) > 10


def test_classify_status() -> None:
    assert classify_status(200) is Outcome.SUCCESS
    assert classify_status(404) is Outcome.SUCCESS
    assert classify_status(500) is Outcome.SERVER_ERROR
    assert classify_status(503) is Outcome.GATEWAY_ERROR


def test_policy_limits_and_conditions() -> None:
    policy = RetryPolicy(limit=2, retry_on=frozenset({"gateway-error", "connect-failure"}))
    assert policy.wants_retry(Outcome.GATEWAY_ERROR, 0, True)
    assert policy.wants_retry(Outcome.GATEWAY_ERROR, 1, True)
    assert not policy.wants_retry(Outcome.GATEWAY_ERROR, 2, True)
    assert not policy.wants_retry(Outcome.SERVER_ERROR, 0, True)
    assert not policy.wants_retry(Outcome.GATEWAY_ERROR, 0, False)
    assert policy.wants_retry(Outcome.CONNECT_FAILURE, 0, True)
    assert not policy.wants_retry(Outcome.TIMEOUT, 0, True)
    with pytest.raises(ValueError, match="bogus"):
        RetryPolicy(retry_on=frozenset({"bogus"}))


def test_budget_caps_retries_at_ratio_plus_minimum() -> None:
    budget = RetryBudget(BudgetConfig(ratio=0.2, min_per_second=10, window=10))
    now = 0.0
    granted = 0
    # 1000 requests per second for 10 seconds, each wanting a retry.
    for _ in range(10_000):
        budget.record_request(now)
        if budget.try_withdraw(now):
            granted += 1
        now += 0.001
    assert granted == pytest.approx(0.2 * 10_000 + 100, rel=0.02)


def test_budget_refills_as_the_window_slides() -> None:
    budget = RetryBudget(BudgetConfig(ratio=0.0, min_per_second=1, window=10))
    assert sum(budget.try_withdraw(0.0) for _ in range(50)) == 10
    assert not budget.try_withdraw(5.0)
    assert budget.try_withdraw(10.5)
