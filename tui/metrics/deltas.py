"""Per-second rates from two successive scrapes of the same endpoint (pure).

Counter resets (a restarted proxy) are handled the way Prometheus's rate() does: when a value
goes down, the counter started again from zero, so the increase is the new value.  The buckets
of one histogram are treated as a unit: if any bucket went down, the whole histogram restarted,
which keeps its buckets cumulative.  A series that is new in the later scrape started from zero
since the earlier one (a proxy creates a series on its first request).
"""

from __future__ import annotations

from collections import defaultdict

from tui.metrics.samples import GAUGES, LATENCY_BUCKET, Labels, Rate, Sample, Scrape, without


def rates_between(prev: Scrape, cur: Scrape) -> tuple[Rate, ...]:
    """Rates over ``cur.at - prev.at``; raises ValueError if the scrapes are not in order."""
    window = cur.at - prev.at
    if window <= 0:
        raise ValueError("the later scrape must be taken after the earlier one")
    before = {(s.name, s.labels): s.value for s in prev.samples}
    reset_histograms = _reset_histograms(before, cur.samples)
    out: list[Rate] = []
    for s in cur.samples:
        if s.name in GAUGES:
            out.append(Rate(s.name, s.labels, s.value))
            continue
        old = before.get((s.name, s.labels), 0.0)
        if s.name == LATENCY_BUCKET and without(s.labels, "le") in reset_histograms:
            increase = s.value
        else:
            increase = s.value - old if s.value >= old else s.value
        out.append(Rate(s.name, s.labels, increase / window))
    return tuple(out)


def _reset_histograms(before: dict[tuple[str, Labels], float], samples: tuple[Sample, ...]) -> set[Labels]:
    went_down: dict[Labels, bool] = defaultdict(bool)
    for s in samples:
        if s.name != LATENCY_BUCKET:
            continue
        old = before.get((s.name, s.labels))
        if old is not None and s.value < old:
            went_down[without(s.labels, "le")] = True
    return {k for k, v in went_down.items() if v}
