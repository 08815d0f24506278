"""PromQL for the golden signals, and parsers for the HTTP API's answers (pure).

Rather than one query per figure, the dashboard asks Prometheus for per-second rates summed by
the labels it drills into, then does the remaining sums and the histogram_quantile
interpolation itself with the same code that serves directly scraped proxies.  Because sums of
rates are linear, the cluster figures equal::

    sum(rate(response_total{direction="inbound"}[1m]))
    histogram_quantile(0.99, sum by (le) (rate(response_latency_ms_bucket{direction="inbound"}[1m])))

(:func:`cluster_queries` builds exactly these, for users and for cross-checks.)
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any

from tui.errors import PrometheusError
from tui.metrics.samples import LATENCY_BUCKET, REQUEST_TOTAL, RESPONSE_TOTAL, TCP_OPEN, Rate, labels_of

_DRILL = ("direction", "namespace", "deployment", "dst_namespace", "dst_service", "authority",
          "route", "client_id", "pod", "instance")
_WINDOW = re.compile(r"^[0-9]+[smhd]$")


@dataclass(frozen=True, slots=True)
class RateQuery:
    """A query whose vector answer is read as rates of ``metric``."""

    metric: str
    promql: str


def _by(*labels: str) -> str:
    return ", ".join(labels)


def rate_queries(window: str = "1m") -> tuple[RateQuery, ...]:
    """The queries that fetch everything a cluster's screens show."""
    if not _WINDOW.match(window):
        raise ValueError(f"range window {window!r} is not like 1m or 30s")
    return (
        RateQuery(RESPONSE_TOTAL,
                  f"sum by ({_by(*_DRILL, 'classification')}) (rate({RESPONSE_TOTAL}[{window}]))"),
        RateQuery(REQUEST_TOTAL,
                  f"sum by ({_by('direction', 'namespace', 'deployment', 'tls')}) "
                  f"(rate({REQUEST_TOTAL}[{window}]))"),
        RateQuery(LATENCY_BUCKET,
                  f"sum by ({_by('le', *_DRILL)}) (rate({LATENCY_BUCKET}[{window}]))"),
        RateQuery(TCP_OPEN, f"sum by ({_by('direction', 'namespace', 'deployment')}) ({TCP_OPEN})"),
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
