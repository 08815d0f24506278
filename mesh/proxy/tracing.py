"""Trace propagation and spans for requests the proxy forwards (pure: no I/O).

The proxy joins traces the application started; it never starts one itself.
A request whose trace context is valid and marked sampled gets a span of the
proxy's own: the forwarded request names that span as parent, so the next
hop (the peer's proxy, then the application) nests under it.  Contexts are
read in the W3C ``traceparent`` header, else in B3 (the single ``b3`` header
or the ``X-B3-*`` ones), and written back in the form they came in.
Requests without a sampled context pass through untouched and cost nothing
but the header lookups.

Finished spans wait in a bounded buffer until the exporter takes them; when
the collector cannot keep up, new spans are dropped and counted rather than
growing the proxy's memory.

The span ends when the response head arrives from upstream (or when the
proxy answers the request itself), which is the latency the proxy's own
``response_latency_ms`` histogram measures.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Iterable
from typing import NamedTuple

from .http1 import Request
from .metrics import Labels

TRACEPARENT = b"traceparent"
B3 = b"b3"
B3_TRACE_ID = b"x-b3-traceid"
B3_SPAN_ID = b"x-b3-spanid"
B3_PARENT_ID = b"x-b3-parentspanid"
B3_SAMPLED = b"x-b3-sampled"
B3_FLAGS = b"x-b3-flags"
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


def _b3_id(value: bytes, lengths: tuple[int, ...]) -> str | None:
    value = value.strip()
    if len(value) not in lengths or not _HEX.issuperset(value) or not value.strip(b"0"):
        return None
    return value.decode()


def parse_b3_single(value: bytes) -> tuple[TraceContext, str] | None:
    """``{trace}-{span}[-{sampling}[-{parent}]]`` -> (context, the trace id as written), or None.

    A 64-bit trace id is widened to 128 bits for export, as B3 allows; the
    header going on keeps the form it came in. Sampling ``1`` or ``d``
    (debug) count as sampled; a context without a sampling decision is not
    continued, since the proxy never decides sampling itself.
    """
    parts = value.strip().split(b"-")
    if len(parts) not in (3, 4):
        return None
    trace, span = _b3_id(parts[0], (16, 32)), _b3_id(parts[1], (16,))
    if trace is None or span is None or parts[2] not in (b"0", b"1", b"d"):
        return None
    if len(parts) == 4 and _b3_id(parts[3], (16,)) is None:
        return None
    return TraceContext(trace.rjust(32, "0"), span, SAMPLED if parts[2] != b"0" else 0), trace


def parse_b3_multi(request: Request) -> tuple[TraceContext, str] | None:
    raw_trace, raw_span = request.header(B3_TRACE_ID), request.header(B3_SPAN_ID)
    if raw_trace is None or raw_span is None:
        return None
    trace, span = _b3_id(raw_trace, (16, 32)), _b3_id(raw_span, (16,))
    if trace is None or span is None:
        return None
    sampled = (request.header(B3_SAMPLED) or b"").strip().lower() in (b"1", b"true")
    debug = (request.header(B3_FLAGS) or b"").strip() == b"1"
    return TraceContext(trace.rjust(32, "0"), span, SAMPLED if sampled or debug else 0), trace


def _replace(headers: list[tuple[bytes, bytes]], name: bytes, value: bytes) -> bool:
    """Set every ``name`` header (any case) to ``value``; whether there was one."""
    found = False
    for i, (key, _) in enumerate(headers):
        if key.lower() == name:
            headers[i] = (key, value)
            found = True
    return found


_random = random.Random()  # span ids need to be unique, not secret: no system call per span


def new_span_id() -> str:
    return "%016x" % (_random.getrandbits(64) or 1)


class Span(NamedTuple):
    """A finished span, kept as the request left it; attributes are only built when it is exported."""

    trace_id: str
    span_id: str
    parent_id: str
    kind: int
    start_ns: int
    end_ns: int
    method: str
    target: str
    status: int | None
    labels: Labels  # the request's metric labels, exported as meshfleet.<label>
    error: str | None  # why the request failed, when the proxy itself answered it


class OpenSpan(NamedTuple):
    context: TraceContext
    span_id: str
    start_ns: int
    method: str
    target: str
    tracer: Tracer  # that ends it: the request path holds the span alone

    def end(self, status: int | None, labels: Labels = (), error: str | None = None) -> None:
        self.tracer.end(self, status, labels, error)


class Tracer:
    """Opens spans for sampled requests, closes them, and buffers them for export."""

    def __init__(
        self,
        kind: int,
        *,
        max_buffered: int = 2048,
        batch: int = 512,
        ids: Callable[[], str] = new_span_id,
        clock_ns: Callable[[], int] = time.time_ns,
    ) -> None:
        self.kind = kind
        self.max_buffered = max_buffered
        self.batch = batch
        self.dropped = 0
        # Called once the buffer holds a full batch, so a busy proxy exports before the buffer overflows.
        self.on_batch: Callable[[], None] | None = None
        self._ids = ids
        self._clock_ns = clock_ns
        self._buffer: list[Span] = []

    def begin(self, request: Request, headers: list[tuple[bytes, bytes]]) -> OpenSpan | None:
        """A span for ``request`` if it carries a sampled context; names it as the parent in ``headers``."""
        raw = request.header(TRACEPARENT)
        if raw is not None:
            context = parse_traceparent(raw)
            if context is None or not context.flags & SAMPLED:
                return None
            span_id = self._ids()
            _replace(headers, TRACEPARENT, format_traceparent(context.trace_id, span_id, context.flags))
            return OpenSpan(context, span_id, self._clock_ns(), request.method, request.target, self)
        return self._begin_b3(request, headers)

    def _begin_b3(self, request: Request, headers: list[tuple[bytes, bytes]]) -> OpenSpan | None:
        single = request.header(B3)
        found = parse_b3_single(single) if single is not None else parse_b3_multi(request)
        if found is None or not found[0].flags & SAMPLED:
            return None
        context, written_trace = found
        span_id = self._ids()
        if single is not None:
            sampling = single.strip().split(b"-")[2].decode()
            _replace(headers, B3, f"{written_trace}-{span_id}-{sampling}-{context.parent_id}".encode())
        else:
            _replace(headers, B3_SPAN_ID, span_id.encode())
            if not _replace(headers, B3_PARENT_ID, context.parent_id.encode()):
                headers.append((b"X-B3-ParentSpanId", context.parent_id.encode()))
        return OpenSpan(context, span_id, self._clock_ns(), request.method, request.target, self)

    def end(self, span: OpenSpan, status: int | None, labels: Labels = (), error: str | None = None) -> None:
        buffer = self._buffer
        if len(buffer) >= self.max_buffered:
            self.dropped += 1
            return
        ctx = span.context
        buffer.append(
            Span(ctx.trace_id, span.span_id, ctx.parent_id, self.kind, span.start_ns, self._clock_ns(),
                 span.method, span.target, status, labels, error)
        )  # fmt: skip
        if len(buffer) == self.batch and self.on_batch is not None:
            self.on_batch()

    @property
    def buffered(self) -> int:
        return len(self._buffer)

    def take(self, limit: int) -> list[Span]:
        batch, self._buffer = self._buffer[:limit], self._buffer[limit:]
        return batch


def _json_str(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def _attribute(key: str, value: str | int) -> str:
    encoded = f'{{"intValue":"{value}"}}' if isinstance(value, int) else f'{{"stringValue":{_json_str(value)}}}'
    return f'{{"key":"{key}","value":{encoded}}}'


class _Encoder:
    """Writes OTLP JSON by hand, remembering the parts many spans share (their labels, their method)."""

    def __init__(self) -> None:
        self._labels: dict[Labels, str] = {}
        self._methods: dict[str, str] = {}

    def labels(self, labels: Labels) -> str:
        done = self._labels.get(labels)
        if done is None:
            if len(self._labels) > 1024:
                self._labels.clear()
            done = self._labels[labels] = "".join("," + _attribute(f"meshfleet.{k}", v) for k, v in labels)
        return done

    def method(self, method: str) -> str:
        done = self._methods.get(method)
        if done is None:
            done = self._methods[method] = _attribute("http.request.method", method)
        return done

    def span(self, s: Span) -> str:
        direction = "inbound" if s.kind == SPAN_KIND_SERVER else "outbound"
        attributes = self.method(s.method) + "," + _attribute("url.path", s.target)
        if s.status is not None:
            attributes += f',{{"key":"http.response.status_code","value":{{"intValue":"{s.status}"}}}}'
        attributes += self.labels(s.labels)
        if s.error is not None:
            status = f',"status":{{"code":{STATUS_ERROR},"message":{_json_str(s.error)}}}'
        elif s.status is not None and s.status >= 500:
            status = f',"status":{{"code":{STATUS_ERROR}}}'
        else:
            status = ""
        return (
            f'{{"traceId":"{s.trace_id}","spanId":"{s.span_id}","parentSpanId":"{s.parent_id}",'
            f'"name":"{direction} {s.method}","kind":{s.kind},"startTimeUnixNano":"{s.start_ns}",'
            f'"endTimeUnixNano":"{s.end_ns}","attributes":[{attributes}]{status}}}'
        )


_encoder = _Encoder()


def export_request(spans: Iterable[Span], resource: Iterable[tuple[str, str]]) -> bytes:
    """An OTLP/HTTP JSON ``ExportTraceServiceRequest`` holding ``spans``."""
    encoded = ",".join(map(_encoder.span, spans))
    resource_attributes = ",".join(_attribute(k, v) for k, v in resource)
    return (
        f'{{"resourceSpans":[{{"resource":{{"attributes":[{resource_attributes}]}},'
        f'"scopeSpans":[{{"scope":{{"name":"meshfleet-proxy"}},"spans":[{encoded}]}}]}}]}}'
    ).encode()
