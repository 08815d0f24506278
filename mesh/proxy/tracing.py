"""Trace propagation and spans for requests the proxy forwards (pure: no I/O).

The proxy joins traces the application started; it never starts one itself.
A request whose W3C ``traceparent`` header is valid and marked sampled gets a
span of the proxy's own: the forwarded request carries a ``traceparent``
naming that span as parent, so the next hop (the peer's proxy, then the
application) nests under it.  Requests without a sampled context pass through
untouched and cost nothing but a header lookup.

Finished spans wait in a bounded buffer until the exporter takes them; when
the collector cannot keep up, new spans are dropped and counted rather than
growing the proxy's memory.

The span ends when the response head arrives from upstream (or when the
proxy answers the request itself), which is the latency the proxy's own
``response_latency_ms`` histogram measures.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable
from typing import Any, NamedTuple

from .http1 import Request
from .metrics import Labels

TRACEPARENT = b"traceparent"
SAMPLED = 0x01

SPAN_KIND_SERVER = 2  # OTLP's enumeration: inbound, as seen from the workload the proxy fronts
SPAN_KIND_CLIENT = 3  # outbound
STATUS_ERROR = 2

_HEX = frozenset(b"0123456789abcdef")
_ZERO_TRACE = "0" * 32
_ZERO_SPAN = "0" * 16


class TraceContext(NamedTuple):
    trace_id: str  # 32 lower-case hex digits
    parent_id: str  # 16 lower-case hex digits
    flags: int

    @property
    def sampled(self) -> bool:
        return bool(self.flags & SAMPLED)


def parse_traceparent(value: bytes) -> TraceContext | None:
    """The context in a ``traceparent`` value, or None when it is not one we may continue.

    Version 00 has exactly four fields; a later version may append fields after
    the flags, which are ignored.  Version ff, upper-case hex and all-zero ids
    are invalid.
    """
    value = value.strip()
    if len(value) < 55 or value[2:3] != b"-" or value[35:36] != b"-" or value[52:53] != b"-":
        return None
    version, trace_id, parent_id, flags = value[:2], value[3:35], value[36:52], value[53:55]
    if not (_HEX.issuperset(version) and _HEX.issuperset(trace_id) and _HEX.issuperset(parent_id)):
        return None
    if not _HEX.issuperset(flags) or version == b"ff":
        return None
    if (version == b"00" and len(value) != 55) or (len(value) > 55 and value[55:56] != b"-"):
        return None
    trace, parent = trace_id.decode(), parent_id.decode()
    if trace == _ZERO_TRACE or parent == _ZERO_SPAN:
        return None
    return TraceContext(trace, parent, int(flags, 16))


def format_traceparent(trace_id: str, span_id: str, flags: int) -> bytes:
    return f"00-{trace_id}-{span_id}-{flags:02x}".encode()


def new_span_id() -> str:
    while True:
        span_id = os.urandom(8).hex()
        if span_id != _ZERO_SPAN:
            return span_id


class Span(NamedTuple):
    trace_id: str
    span_id: str
    parent_id: str
    name: str
    kind: int
    start_ns: int
    end_ns: int
    attributes: tuple[tuple[str, str | int], ...]
    error: str | None  # why the request failed, when the proxy itself answered it


class OpenSpan(NamedTuple):
    context: TraceContext
    span_id: str
    name: str
    start_ns: int
    method: str
    target: str


class Tracer:
    """Opens spans for sampled requests, closes them, and buffers them for export."""

    def __init__(
        self,
        kind: int,
        *,
        max_buffered: int = 2048,
        ids: Callable[[], str] = new_span_id,
        clock_ns: Callable[[], int] = time.time_ns,
    ) -> None:
        self.kind = kind
        self.max_buffered = max_buffered
        self.dropped = 0
        self._ids = ids
        self._clock_ns = clock_ns
        self._buffer: list[Span] = []

    def begin(self, request: Request, headers: list[tuple[bytes, bytes]]) -> OpenSpan | None:
        """A span for ``request`` if it carries a sampled context; rewrites its ``traceparent`` in ``headers``."""
        raw = request.header(TRACEPARENT)
        if raw is None:
            return None
        context = parse_traceparent(raw)
        if context is None or not context.sampled:
            return None
        span_id = self._ids()
        forwarded = format_traceparent(context.trace_id, span_id, context.flags)
        for i, (name, _) in enumerate(headers):
            if name.lower() == TRACEPARENT:
                headers[i] = (name, forwarded)
        method = request.method
        direction = "inbound" if self.kind == SPAN_KIND_SERVER else "outbound"
        return OpenSpan(context, span_id, f"{direction} {method}", self._clock_ns(), method, request.target)

    def end(self, span: OpenSpan, status: int | None, labels: Labels = (), error: str | None = None) -> None:
        attributes: list[tuple[str, str | int]] = [("http.request.method", span.method), ("url.path", span.target)]
        if status is not None:
            attributes.append(("http.response.status_code", status))
        attributes.extend((f"meshfleet.{k}", v) for k, v in labels)
        if len(self._buffer) >= self.max_buffered:
            self.dropped += 1
            return
        self._buffer.append(
            Span(
                span.context.trace_id,
                span.span_id,
                span.context.parent_id,
                span.name,
                self.kind,
                span.start_ns,
                self._clock_ns(),
                tuple(attributes),
                error,
            )
        )

    @property
    def buffered(self) -> int:
        return len(self._buffer)

    def take(self, limit: int) -> list[Span]:
        batch, self._buffer = self._buffer[:limit], self._buffer[limit:]
        return batch


def _value(v: str | int) -> dict[str, Any]:
    return {"intValue": str(v)} if isinstance(v, int) else {"stringValue": v}


def _attributes(pairs: Iterable[tuple[str, str | int]]) -> list[dict[str, Any]]:
    return [{"key": k, "value": _value(v)} for k, v in pairs]


def export_request(spans: Iterable[Span], resource: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """An OTLP/HTTP JSON ``ExportTraceServiceRequest`` holding ``spans``."""
    encoded = []
    for s in spans:
        span: dict[str, Any] = {
            "traceId": s.trace_id,
            "spanId": s.span_id,
            "parentSpanId": s.parent_id,
            "name": s.name,
            "kind": s.kind,
            "startTimeUnixNano": str(s.start_ns),
            "endTimeUnixNano": str(s.end_ns),
            "attributes": _attributes(s.attributes),
        }
        status = dict(s.attributes).get("http.response.status_code")
        if s.error is not None:
            span["status"] = {"code": STATUS_ERROR, "message": s.error}
        elif isinstance(status, int) and status >= 500:
            span["status"] = {"code": STATUS_ERROR}
        encoded.append(span)
    return {
        "resourceSpans": [
            {
                "resource": {"attributes": _attributes(resource)},
                "scopeSpans": [{"scope": {"name": "meshfleet-proxy"}, "spans": encoded}],
            }
        ]
    }
