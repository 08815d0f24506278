"""Trace context parsing, span bookkeeping and the OTLP encoding, without sockets."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from mesh.proxy.http1 import Framing, Request
from mesh.proxy.tracing import (
    SPAN_KIND_CLIENT,
    SPAN_KIND_SERVER,
    TraceContext,
    Tracer,
    export_request,
    format_traceparent,
    parse_traceparent,
)

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT = "00f067aa0ba902b7"


def _request(*headers: tuple[bytes, bytes]) -> Request:
    return Request("GET", "/items?id=3", "1.1", tuple(headers), Framing.NONE, None, True, False)


def test_a_valid_sampled_header_parses() -> None:
    ctx = parse_traceparent(f"00-{TRACE}-{PARENT}-01".encode())
    assert ctx == TraceContext(TRACE, PARENT, 1)
    assert ctx.sampled


@pytest.mark.parametrize(
    "value",
    [
        f"ff-{TRACE}-{PARENT}-01",  # version ff is invalid
        f"00-{'0' * 32}-{PARENT}-01",  # all-zero trace id
        f"00-{TRACE}-{'0' * 16}-01",  # all-zero parent id
        f"00-{TRACE.upper()}-{PARENT}-01",  # upper-case hex
        f"00-{TRACE[:-1]}-{PARENT}-01",  # short trace id
        f"00-{TRACE}-{PARENT}-01-extra",  # version 00 has exactly four fields
        f"00_{TRACE}-{PARENT}-01",
        "",
    ],
)
def test_malformed_headers_are_not_continued(value: str) -> None:
    assert parse_traceparent(value.encode()) is None


def test_a_later_version_may_carry_more_fields() -> None:
    assert parse_traceparent(f"01-{TRACE}-{PARENT}-01-whatever".encode()) == TraceContext(TRACE, PARENT, 1)


def test_the_forwarded_header_names_the_proxy_span_and_keeps_the_flags() -> None:
    tracer = Tracer(SPAN_KIND_CLIENT, ids=lambda: "1111111111111111", clock_ns=iter(range(100, 200, 50)).__next__)
    incoming = (b"Host", b"web"), (b"TraceParent", format_traceparent(TRACE, PARENT, 3))
    headers = list(incoming)
    span = tracer.begin(_request(*incoming), headers)
    assert span is not None
    assert headers == [(b"Host", b"web"), (b"TraceParent", f"00-{TRACE}-1111111111111111-03".encode())]
    tracer.end(span, 200, (("direction", "outbound"), ("server_id", "api.shop")))
    (done,) = tracer.take(10)
    assert (done.trace_id, done.span_id, done.parent_id) == (TRACE, "1111111111111111", PARENT)
    assert (done.start_ns, done.end_ns, done.kind, done.status) == (100, 150, SPAN_KIND_CLIENT, 200)
    assert tracer.take(10) == []
    (span,) = json.loads(export_request([done], []))["resourceSpans"][0]["scopeSpans"][0]["spans"]
    assert span["name"] == "outbound GET"
    attributes = {a["key"]: a["value"] for a in span["attributes"]}
    assert attributes["http.response.status_code"] == {"intValue": "200"}
    assert attributes["meshfleet.server_id"] == {"stringValue": "api.shop"}
    assert attributes["url.path"] == {"stringValue": "/items?id=3"}


@pytest.mark.parametrize("value", [None, f"00-{TRACE}-{PARENT}-00".encode(), b"garbage"])
def test_unsampled_or_absent_context_is_left_alone(value: bytes | None) -> None:
    tracer = Tracer(SPAN_KIND_SERVER)
    incoming = ((b"traceparent", value),) if value is not None else ()
    headers = list(incoming)
    assert tracer.begin(_request(*incoming), headers) is None
    assert headers == list(incoming)


def test_a_full_batch_asks_for_export_and_a_full_buffer_drops_and_counts() -> None:
    tracer = Tracer(SPAN_KIND_SERVER, max_buffered=4, batch=2)
    asked: list[int] = []
    tracer.on_batch = lambda: asked.append(tracer.buffered)
    req = _request((b"traceparent", format_traceparent(TRACE, PARENT, 1)))
    for _ in range(7):
        span = tracer.begin(req, [])
        assert span is not None
        tracer.end(span, 200)
    assert asked == [2]
    assert (tracer.buffered, tracer.dropped) == (4, 3)


def test_strings_from_the_request_are_escaped_in_the_export() -> None:
    tracer = Tracer(SPAN_KIND_CLIENT)
    req = Request("GET", '/q?x="a\\b"\u00e9', "1.1", ((b"traceparent", format_traceparent(TRACE, PARENT, 1)),),
                  Framing.NONE, None, True, False)  # fmt: skip
    span = tracer.begin(req, [])
    assert span is not None
    tracer.end(span, None, (("authority", 'we"ird'),), error='reset by "peer"')
    (out,) = json.loads(export_request(tracer.take(1), []))["resourceSpans"][0]["scopeSpans"][0]["spans"]
    attributes = {a["key"]: a["value"] for a in out["attributes"]}
    assert attributes["url.path"] == {"stringValue": req.target}
    assert attributes["meshfleet.authority"] == {"stringValue": 'we"ird'}
    assert out["status"]["message"] == 'reset by "peer"'


def test_the_export_request_is_otlp_json() -> None:
    tracer = Tracer(SPAN_KIND_SERVER, ids=lambda: "2222222222222222", clock_ns=iter([10, 20, 30, 40]).__next__)
    req = _request((b"traceparent", format_traceparent(TRACE, PARENT, 1)))
    ok, failed = tracer.begin(req, []), tracer.begin(req, [])
    assert ok is not None
    assert failed is not None
    tracer.end(ok, 200)
    tracer.end(failed, 504, error="request timeout")
    body = json.loads(export_request(tracer.take(10), [("service.name", "web.shop")]))
    (resource_spans,) = body["resourceSpans"]
    assert resource_spans["resource"]["attributes"] == [{"key": "service.name", "value": {"stringValue": "web.shop"}}]
    first, second = resource_spans["scopeSpans"][0]["spans"]
    assert first["traceId"] == TRACE
    assert first["parentSpanId"] == PARENT
    assert first["spanId"] == "2222222222222222"
    assert (first["startTimeUnixNano"], first["endTimeUnixNano"]) == ("10", "30")
    assert first["kind"] == SPAN_KIND_SERVER
    assert "status" not in first
    assert {"key": "http.response.status_code", "value": {"intValue": "200"}} in first["attributes"]
    assert second["status"] == {"code": 2, "message": "request timeout"}


def _ids() -> Callable[[], str]:
    return iter(["aaaaaaaaaaaaaaaa", "bbbbbbbbbbbbbbbb"]).__next__


B3_TRACE = "80f198ee56343ba8"


@pytest.mark.parametrize("sampling", ["1", "d"])
def test_a_sampled_b3_single_header_is_continued_in_its_own_form(sampling: str) -> None:
    tracer = Tracer(SPAN_KIND_CLIENT, ids=_ids())
    incoming = ((b"B3", f"{B3_TRACE}-{PARENT}-{sampling}".encode()),)
    headers = list(incoming)
    span = tracer.begin(_request(*incoming), headers)
    assert span is not None
    # 64-bit trace ids stay 64-bit on the wire and are widened for export.
    assert headers == [(b"B3", f"{B3_TRACE}-aaaaaaaaaaaaaaaa-{sampling}-{PARENT}".encode())]
    assert span.context.trace_id == "0" * 16 + B3_TRACE
    assert span.context.parent_id == PARENT


def test_b3_multi_headers_get_the_proxy_span_and_its_parent() -> None:
    tracer = Tracer(SPAN_KIND_SERVER, ids=_ids())
    incoming = ((b"X-B3-TraceId", TRACE.encode()), (b"X-B3-SpanId", PARENT.encode()), (b"X-B3-Sampled", b"1"))
    headers = list(incoming)
    span = tracer.begin(_request(*incoming), headers)
    assert span is not None
    assert dict(headers) == {
        b"X-B3-TraceId": TRACE.encode(),
        b"X-B3-SpanId": b"aaaaaaaaaaaaaaaa",
        b"X-B3-Sampled": b"1",
        b"X-B3-ParentSpanId": PARENT.encode(),
    }
    assert (span.context.trace_id, span.context.parent_id) == (TRACE, PARENT)
    debug = ((b"x-b3-traceid", TRACE.encode()), (b"x-b3-spanid", PARENT.encode()), (b"x-b3-flags", b"1"))
    assert tracer.begin(_request(*debug), list(debug)) is not None


@pytest.mark.parametrize(
    "incoming",
    [
        ((b"b3", f"{B3_TRACE}-{PARENT}-0".encode()),),  # not sampled
        ((b"b3", b"0"),),  # only a sampling decision
        ((b"b3", f"{B3_TRACE}-{PARENT}".encode()),),  # sampling deferred: not the proxy's to decide
        ((b"b3", f"{'0' * 16}-{PARENT}-1".encode()),),  # all-zero trace id
        ((b"X-B3-TraceId", TRACE.encode()), (b"X-B3-SpanId", PARENT.encode()), (b"X-B3-Sampled", b"0")),
        ((b"X-B3-TraceId", TRACE.encode()), (b"X-B3-SpanId", b"xyz"), (b"X-B3-Sampled", b"1")),
    ],
)
def test_b3_contexts_that_are_not_sampled_or_not_valid_pass_untouched(
    incoming: tuple[tuple[bytes, bytes], ...],
) -> None:
    tracer = Tracer(SPAN_KIND_CLIENT)
    headers = list(incoming)
    assert tracer.begin(_request(*incoming), headers) is None
    assert headers == list(incoming)


def test_traceparent_wins_over_b3_when_both_come() -> None:
    tracer = Tracer(SPAN_KIND_CLIENT, ids=_ids())
    incoming = ((b"traceparent", format_traceparent(TRACE, PARENT, 1)), (b"b3", f"{B3_TRACE}-{PARENT}-1".encode()))
    headers = list(incoming)
    span = tracer.begin(_request(*incoming), headers)
    assert span is not None
    assert span.context.trace_id == TRACE
    assert headers[1] == incoming[1]
