"""Parse Prometheus exposition text into :class:`~tui.metrics.samples.Sample` values (pure)."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from tui.errors import ExpositionInvalid
from tui.metrics.samples import WANTED, Labels, Sample, labels_of


def parse_exposition(text: str, origin: str, extra: Labels = ()) -> tuple[Sample, ...]:
    """Keep the series the dashboard reads; add ``extra`` labels (e.g. ``instance``) to each.

    Raises :class:`ExpositionInvalid` naming ``origin`` when the text is not exposition format.
    """
    out: list[Sample] = []
    try:
        # The parser is lazy: errors surface while iterating, so the loop is inside the try.
        for family in text_string_to_metric_families(text):
            for s in family.samples:
                if s.name not in WANTED:
                    continue
                labels = dict(s.labels)
                labels.update(extra)
                out.append(Sample(s.name, labels_of(labels), float(s.value)))
    except (ValueError, TypeError, IndexError, KeyError) as e:
        raise ExpositionInvalid(f"{origin}: not Prometheus exposition text ({e})") from e
    return tuple(out)
