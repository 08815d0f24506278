"""PromQL the dashboard sends, and readers of the answers (pure).

Three levels, each asked for only when a screen shows it:

- :func:`overview_query`: one query per cluster whose answer is a few dozen series (inbound
  responses by classification, requests by ``tls``, latency buckets by ``le``, open
  connections), whatever the size of the cluster.  This is all the fleet overview needs.
- :func:`workloads_query`: one cluster's workloads, inbound and outbound per destination, with
  latency percentiles computed by Prometheus (three series per row instead of 26 buckets).
- :func:`rate_queries` with a workload: one workload's routes, pods and callers, summed by every
  label the drill-down shows, buckets included, so each row's percentiles are exact.

Several sub-queries travel as one request: each part is tagged with a constant label
(``label_replace(expr, TAG, "<part>", "", "")``) and the parts are joined with ``or``, which
keeps every series because the tags make their label sets distinct.  The reader turns each tag
back into the metric it measures.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any

from tui.errors import PrometheusError
from tui.metrics.samples import (
    LATENCY_BUCKET,
    LATENCY_QUANTILE,
    REQUEST_TOTAL,
    RESPONSE_TOTAL,
    TCP_OPEN,
    Labels,
    Rate,
    labels_of,
)

#: Every label the workload drill-down groups by (routes, endpoints, callers, destinations).
_DRILL = ("direction", "namespace", "deployment", "dst_namespace", "dst_service", "authority",
          "route", "client_id", "tls", "pod", "instance")
_WINDOW = re.compile(r"^[0-9]+[smhd]$")
#: The constant label that tells the parts of a combined answer apart.
TAG = "meshfleet_part"
QUANTILES = (0.5, 0.95, 0.99)


@dataclass(frozen=True, slots=True)
class RateQuery:
    """A query whose vector answer is read as rates of ``metric``."""

    metric: str
    promql: str


@dataclass(frozen=True, slots=True)
class Part:
    """One tagged sub-query of a :class:`CombinedQuery`.

    Its answer's series are read as rates of ``metric`` with ``extra`` labels added (the
    ``quantile`` of a percentile part); ``by`` is what Prometheus groups it by.
    """

    tag: str
    metric: str
    expr: str
    by: tuple[str, ...]
    extra: Labels = ()


@dataclass(frozen=True, slots=True)
class CombinedQuery:
    """Several parts sent as one PromQL expression."""

    parts: tuple[Part, ...]

    @property
    def promql(self) -> str:
        return " or ".join(f'label_replace({p.expr}, "{TAG}", "{p.tag}", "", "")' for p in self.parts)


def _by(*labels: str) -> str:
    return ", ".join(labels)


def _check_window(window: str) -> None:
    if not _WINDOW.match(window):
        raise ValueError(f"range window {window!r} is not like 1m or 30s")


def _quote(value: str) -> str:
    # PromQL string literals follow Go's escaping; json.dumps produces a compatible one.
    return json.dumps(value)


def _rate(metric: str, selector: str, window: str) -> str:
    return f"rate({metric}{{{selector}}}[{window}])"


def overview_query(window: str = "1m") -> CombinedQuery:
    """The cluster-wide inbound figures of one cluster: answers hold about 30 series."""
    _check_window(window)
    sel = 'direction="inbound"'
    return CombinedQuery((
        Part("responses", RESPONSE_TOTAL, f"sum by (classification) ({_rate(RESPONSE_TOTAL, sel, window)})",
             ("classification",)),
        Part("requests", REQUEST_TOTAL, f"sum by (tls) ({_rate(REQUEST_TOTAL, sel, window)})", ("tls",)),
        Part("latency", LATENCY_BUCKET, f"sum by (le) ({_rate(LATENCY_BUCKET, sel, window)})", ("le",)),
        Part("connections", TCP_OPEN, f"sum({TCP_OPEN}{{{sel}}})", ()),
    ))


def workloads_query(window: str = "1m") -> CombinedQuery:
    """One cluster's workloads: inbound per workload, outbound per workload and destination."""
    _check_window(window)
    parts: list[Part] = []
    for direction, by in (("inbound", ("direction", "namespace", "deployment")),
                          ("outbound", ("direction", "namespace", "deployment", "dst_namespace", "dst_service",
                                        "authority"))):
        sel = f'direction="{direction}"'
        parts += [
            Part(f"{direction}-responses", RESPONSE_TOTAL,
                 f"sum by ({_by(*by, 'classification')}) ({_rate(RESPONSE_TOTAL, sel, window)})",
                 (*by, "classification")),
            Part(f"{direction}-requests", REQUEST_TOTAL,
                 f"sum by ({_by(*by, 'tls')}) ({_rate(REQUEST_TOTAL, sel, window)})", (*by, "tls")),
        ]
        for q in QUANTILES:
            parts.append(Part(
                f"{direction}-p{q:g}", LATENCY_QUANTILE,
                f"histogram_quantile({q:g}, sum by ({_by(*by, 'le')}) ({_rate(LATENCY_BUCKET, sel, window)}))",
                by, (("quantile", f"{q:g}"),)))
    by_in = ("direction", "namespace", "deployment")
    parts.append(Part("inbound-connections", TCP_OPEN,
                      f'sum by ({_by(*by_in)}) ({TCP_OPEN}{{direction="inbound"}})', by_in))
    return CombinedQuery(tuple(parts))


def rate_queries(window: str = "1m", workload: tuple[str, str] | None = None) -> tuple[RateQuery, ...]:
    """Rates summed by every drill-down label, for one ``(namespace, deployment)`` if given.

    Without a workload this is a whole cluster's full breakdown, which grows with pods times
    callers times routes; the dashboard only sends it for the workload on screen.
    """
    _check_window(window)
    sel = ""
    if workload is not None:
        sel = f"namespace={_quote(workload[0])},deployment={_quote(workload[1])}"
    return (
        RateQuery(RESPONSE_TOTAL, f"sum by ({_by(*_DRILL, 'classification')}) ({_rate(RESPONSE_TOTAL, sel, window)})"),
        RateQuery(REQUEST_TOTAL, f"sum by ({_by(*_DRILL)}) ({_rate(REQUEST_TOTAL, sel, window)})"),
        RateQuery(LATENCY_BUCKET, f"sum by ({_by('le', *_DRILL)}) ({_rate(LATENCY_BUCKET, sel, window)})"),
        RateQuery(TCP_OPEN, f"sum by ({_by(*_DRILL)}) ({TCP_OPEN}{{{sel}}})"),
    )


def cluster_queries(window: str = "1m") -> dict[str, str]:
    """The cluster-wide golden signals as single PromQL expressions."""
    inbound = 'direction="inbound"'
    rps = f"sum(rate({RESPONSE_TOTAL}{{{inbound}}}[{window}]))"
    success = f'sum(rate({RESPONSE_TOTAL}{{{inbound},classification="success"}}[{window}]))'
    tls = f'sum(rate({REQUEST_TOTAL}{{{inbound},tls="true"}}[{window}]))'
    requests = f"sum(rate({REQUEST_TOTAL}{{{inbound}}}[{window}]))"
    out = {"rps": rps, "success_rate": f"{success} / {rps}", "mtls": f"{tls} / {requests}"}
    for name, q in (("p50_ms", "0.5"), ("p95_ms", "0.95"), ("p99_ms", "0.99")):
        out[name] = (f"histogram_quantile({q}, sum by (le) "
                     f"(rate({LATENCY_BUCKET}{{{inbound}}}[{window}])))")
    return out


def parse_vector(body: str | bytes, origin: str) -> list[tuple[dict[str, str], float]]:
    """The ``(labels, value)`` pairs of an instant-vector answer of /api/v1/query."""
    try:
        doc: Any = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise PrometheusError(f"{origin}: answer is not JSON") from e
    if not isinstance(doc, dict):
        raise PrometheusError(f"{origin}: answer is not a JSON object")
    if doc.get("status") != "success":
        raise PrometheusError(f"{origin}: {doc.get('errorType', 'error')}: {doc.get('error', 'unknown')}")
    data = doc.get("data")
    if not isinstance(data, dict) or data.get("resultType") != "vector":
        raise PrometheusError(f"{origin}: expected an instant vector")
    out: list[tuple[dict[str, str], float]] = []
    for item in data.get("result") or []:
        try:
            metric, (_, text) = item["metric"], item["value"]
            value = float(text)
        except (KeyError, TypeError, ValueError) as e:
            raise PrometheusError(f"{origin}: malformed vector element {item!r}") from e
        if not isinstance(metric, dict):
            raise PrometheusError(f"{origin}: malformed labels {metric!r}")
        out.append(({str(k): str(v) for k, v in metric.items()}, value))
    return out


def vector_rates(query: RateQuery, body: str | bytes, origin: str) -> tuple[Rate, ...]:
    """Read an answer to one of :func:`rate_queries` as rates (NaN elements dropped)."""
    return tuple(
        Rate(query.metric, labels_of(labels), value)
        for labels, value in parse_vector(body, origin)
        if not math.isnan(value)
    )


def combined_rates(query: CombinedQuery, body: str | bytes, origin: str) -> tuple[Rate, ...]:
    """Read an answer to a :class:`CombinedQuery`: each series back under its part's metric.

    NaN values (a percentile of a histogram without traffic) are dropped; a series whose tag
    names no part means the answer is not to this query, which is reported.
    """
    parts = {p.tag: p for p in query.parts}
    out: list[Rate] = []
    for labels, value in parse_vector(body, origin):
        tag = labels.pop(TAG, None)
        part = parts.get(tag) if tag is not None else None
        if part is None:
            raise PrometheusError(f"{origin}: series {labels!r} belongs to no part of the query")
        if math.isnan(value):
            continue
        labels.update(part.extra)
        out.append(Rate(part.metric, labels_of(labels), value))
    return tuple(out)
