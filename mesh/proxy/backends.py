"""Weighted backends of a traffic split: pick the backend first, then balance within it.

An HTTPRoute that splits 90/10 between two Services reaches the proxy as
one endpoint list whose endpoints carry a ``backend`` label and a weight
(the backend's share spread over its endpoints). Feeding those weights
straight to the latency-aware balancer would bend the split towards the
faster backend; choosing the backend by weight first keeps the ratio exact
within sampling noise, and power of two choices then balances inside it.

Pure: the random source is passed in.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from .services import Endpoint

BACKEND_LABEL = "backend"


@dataclass(frozen=True, slots=True)
class Backend:
    name: str
    weight: float  # the sum of its endpoints' weights
    endpoints: frozenset[Endpoint]


def backend_of(ep: Endpoint) -> str:
    for key, value in ep.labels:
        if key == BACKEND_LABEL:
            return value
    return ""


def group_backends(endpoints: Iterable[Endpoint]) -> tuple[Backend, ...]:
    """Endpoints grouped by their backend label; one group (named "") when none carries it."""
    members: dict[str, list[Endpoint]] = {}
    for ep in endpoints:
        if ep.weight > 0:
            members.setdefault(backend_of(ep), []).append(ep)
    return tuple(Backend(name, sum(ep.weight for ep in eps), frozenset(eps)) for name, eps in sorted(members.items()))


def choose_backend(
    backends: tuple[Backend, ...], rng: random.Random, usable: Callable[[Endpoint], bool]
) -> Backend | None:
    """A backend drawn by weight among those with at least one usable endpoint.

    A backend whose endpoints are all unusable (ejected, already failed) gives
    its share to the others rather than failing its slice of the traffic.
    """
    live = [b for b in backends if any(usable(ep) for ep in b.endpoints)]
    total = sum(b.weight for b in live)
    if total <= 0:
        return None
    point = rng.random() * total
    for b in live:
        point -= b.weight
        if point < 0:
            return b
    return live[-1]
