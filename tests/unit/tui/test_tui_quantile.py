import math

import pytest

from tui.metrics import bucket_quantile

INF = math.inf
# 10 observations <=1 ms, 10 in (1,2], 20 in (2,5], none above.
BUCKETS = [(1.0, 10.0), (2.0, 20.0), (5.0, 40.0), (INF, 40.0)]


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        (0.25, 1.0),  # rank 10 is the last observation of the first bucket: 0 + 1 * 10/10
        (0.50, 2.0),  # rank 20: 1 + (2-1) * 10/10
        (0.95, 4.7),  # rank 38: 2 + (5-2) * 18/20
        (0.99, 4.94),  # rank 39.6: 2 + (5-2) * 19.6/20
    ],
)
def test_interpolates_inside_the_bucket_holding_the_rank(q: float, expected: float) -> None:
    assert bucket_quantile(q, BUCKETS) == pytest.approx(expected)


def test_bucket_order_does_not_matter() -> None:
    assert bucket_quantile(0.95, list(reversed(BUCKETS))) == pytest.approx(4.7)


def test_rank_in_the_inf_bucket_gives_the_highest_finite_bound() -> None:
    # 1 observation <=1 ms, 9 above 1 ms: the median is somewhere above 1 ms; report 1 ms.
    assert bucket_quantile(0.5, [(1.0, 1.0), (INF, 10.0)]) == 1.0


def test_inf_only_histogram_has_no_quantile() -> None:
    assert bucket_quantile(0.5, [(INF, 10.0)]) is None


def test_empty_buckets_have_no_quantile() -> None:
    assert bucket_quantile(0.99, [(1.0, 0.0), (2.0, 0.0), (INF, 0.0)]) is None


def test_histogram_without_inf_bucket_has_no_quantile() -> None:
    assert bucket_quantile(0.5, [(1.0, 3.0), (2.0, 5.0)]) is None


def test_empty_lower_buckets_are_skipped() -> None:
    # All 4 observations in (10, 20]: the median is halfway through that bucket.
    assert bucket_quantile(0.5, [(5.0, 0.0), (10.0, 0.0), (20.0, 4.0), (INF, 4.0)]) == pytest.approx(15.0)


def test_non_monotonic_counts_are_made_cumulative() -> None:
    # Counts summed from separate scrapes can dip; the dip must not pull the result backwards.
    # Made cumulative the counts are 4, 4, 8, 8; rank 6 of 8 lies in (2, 4]: 2 + 2 * (6-4)/4 = 3.
    # Taken as they are, the dip would give 2 + 2 * (6-3)/5 = 3.2.
    assert bucket_quantile(0.75, [(1.0, 4.0), (2.0, 3.0), (4.0, 8.0), (INF, 8.0)]) == pytest.approx(3.0)


def test_rejects_quantile_outside_zero_one() -> None:
    with pytest.raises(ValueError, match="outside"):
        bucket_quantile(1.5, BUCKETS)
