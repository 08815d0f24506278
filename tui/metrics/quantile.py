"""Quantiles from cumulative histogram buckets, computed the way PromQL's histogram_quantile does.

Summing bucket counts across series and then interpolating is the only correct way to get a
fleet-wide percentile; averaging per-series percentiles is not.
"""

from __future__ import annotations

import math
from collections.abc import Iterable


def bucket_quantile(q: float, buckets: Iterable[tuple[float, float]]) -> float | None:
    """The ``q``-quantile of cumulative ``(upper_bound, count)`` buckets, or None if undefined.

    Like histogram_quantile: the observation of rank ``q * total`` is found in its bucket and
    its value interpolated linearly between the bucket's bounds (the first bucket starts at 0
    when its bound is positive).  A rank in the +Inf bucket yields the highest finite bound.
    Undefined (None) with no +Inf bucket, fewer than two buckets, or no observations.
    """
    if not 0.0 <= q <= 1.0:
        raise ValueError(f"quantile {q} is outside [0, 1]")
    ordered = sorted(buckets)
    if len(ordered) < 2 or not math.isinf(ordered[-1][0]):
        return None
    # Counts from separately scraped series can be slightly out of order; force them monotonic
    # so interpolation never runs backwards.
    counts: list[float] = []
    for _, c in ordered:
        counts.append(max(c, counts[-1]) if counts else c)
    total = counts[-1]
    if total <= 0:
        return None
    rank = q * total
    b = next(i for i, c in enumerate(counts) if c >= rank or i == len(counts) - 1)
    if b == len(ordered) - 1:
        return ordered[-2][0]
    upper = ordered[b][0]
    if b == 0:
        if upper <= 0:
            return upper
        lower, below = 0.0, 0.0
    else:
        lower, below = ordered[b - 1][0], counts[b - 1]
    in_bucket = counts[b] - below
    if in_bucket <= 0:
        return lower
    return lower + (upper - lower) * (rank - below) / in_bucket
