from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mesh.proxy.errors import HeadersTooLarge, HttpError, UnsupportedHttp
from mesh.proxy.http1 import (
    LAST_CHUNK,
    Data,
    EndOfMessage,
    Framing,
    Request,
    RequestReader,
    Response,
    ResponseReader,
    Upgraded,
    encode_chunk,
    forwardable_headers,
    serialize_request_head,
)


def parse_all(raw: bytes, step: int | None = None) -> list[object]:
    reader = RequestReader()
    events: list[object] = []
    if step is None:
        events.extend(reader.feed(raw))
    else:
        for i in range(0, len(raw), step):
            events.extend(reader.feed(raw[i : i + step]))
    return events


def bodies(events: list[object]) -> list[bytes]:
    out: list[bytes] = []
    cur = bytearray()
    for ev in events:
        if isinstance(ev, Data):
            cur += ev.data
        elif isinstance(ev, EndOfMessage):
            out.append(bytes(cur))
            cur = bytearray()
    return out


def test_simple_get_with_keep_alive() -> None:
    events = parse_all(b"GET /a?b=1 HTTP/1.1\r\nHost: web\r\n\r\n")
    req = events[0]
    assert isinstance(req, Request)
    assert (req.method, req.target, req.version) == ("GET", "/a?b=1", "1.1")
    assert req.header(b"host") == b"web"
    assert req.keep_alive
    assert req.framing is Framing.NONE
    assert isinstance(events[1], EndOfMessage)


def test_http10_is_not_keep_alive() -> None:
    req = parse_all(b"GET / HTTP/1.0\r\n\r\n")[0]
    assert isinstance(req, Request)
    assert not req.keep_alive


@pytest.mark.parametrize("step", [None, 1, 3])
def test_chunked_body_is_decoded_in_any_split(step: int | None) -> None:
    raw = (
        b"POST /u HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;e=1\r\nde\r\n0\r\nT: 1\r\n\r\n"
    )
    events = parse_all(raw, step)
    req = events[0]
    assert isinstance(req, Request)
    assert req.framing is Framing.CHUNKED
    assert bodies(events) == [b"abcde"]
    assert req.headers == ((b"Host", b"x"), (b"Transfer-Encoding", b"chunked"))  # trailer dropped


def test_pipelined_requests_come_out_in_order() -> None:
    raw = (
        b"POST /1 HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi"
        b"GET /2 HTTP/1.1\r\nHost: x\r\n\r\n"
        b"GET /3 HTTP/1.1\r\nHost: x\r\n\r\n"
    )
    events = parse_all(raw)
    targets = [e.target for e in events if isinstance(e, Request)]
    assert targets == ["/1", "/2", "/3"]
    assert bodies(events) == [b"hi", b"", b""]


@pytest.mark.parametrize(
    ("raw", "error"),
    [
        pytest.param(b"GET / HTTP/1.1 extra\r\n\r\n", HttpError, id="bad request line"),
        pytest.param(b"G@T / HTTP/1.1\r\n\r\n", HttpError, id="bad method"),
        pytest.param(b"GET /\x01 HTTP/1.1\r\n\r\n", HttpError, id="control char in target"),
        pytest.param(b"GET / HTTP/1.1\r\nBad Name: x\r\n\r\n", HttpError, id="space in header name"),
        pytest.param(
            b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nab\r\n0\r\n\r\n",
            HttpError,
            id="bad chunk size",
        ),
        pytest.param(
            b"POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
            HttpError,
            id="both CL and TE",
        ),
        pytest.param(
            b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
            HttpError,
            id="both TE and CL",
        ),
        pytest.param(
            b"POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
            HttpError,
            id="differing CL",
        ),
        pytest.param(b"POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", HttpError, id="negative CL"),
        pytest.param(b"POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", HttpError, id="TE not chunked"),
        pytest.param(b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", HttpError, id="two hosts"),
        pytest.param(b"GET / HTTP/1.1\nHost: a\n\n", HttpError, id="bare LF"),
        pytest.param(b"CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n", UnsupportedHttp, id="CONNECT"),
    ],
)
def test_malformed_requests_are_refused(raw: bytes, error: type[Exception]) -> None:
    with pytest.raises(error):
        parse_all(raw)


def test_oversized_headers_are_refused_even_when_trickled() -> None:
    raw = b"GET / HTTP/1.1\r\n" + b"".join(b"X-%d: %s\r\n" % (i, b"v" * 1000) for i in range(70)) + b"\r\n"
    with pytest.raises(HeadersTooLarge):
        parse_all(raw)
    with pytest.raises(HeadersTooLarge):
        parse_all(raw, step=997)


def test_headers_just_under_the_limit_pass() -> None:
    raw = b"GET / HTTP/1.1\r\n" + b"".join(b"X-%d: %s\r\n" % (i, b"v" * 1000) for i in range(60)) + b"\r\n"
    assert isinstance(parse_all(raw)[0], Request)


def test_reader_stays_failed_after_an_error() -> None:
    reader = RequestReader()
    with pytest.raises(HttpError):
        reader.feed(b"BAD LINE\r\n\r\n")
    with pytest.raises(HttpError):
        reader.feed(b"GET / HTTP/1.1\r\n\r\n")


def test_upgrade_hands_over_trailing_bytes() -> None:
    raw = b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n\x81\x05hello"
    events = parse_all(raw)
    req = events[0]
    assert isinstance(req, Request)
    assert req.upgrade
    assert events[-1] == Upgraded(b"\x81\x05hello")


def test_response_reader_handles_length_chunked_and_close() -> None:
    reader = ResponseReader()
    reader.expect("GET")
    ev = reader.feed(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi")
    assert isinstance(ev[0], Response)
    assert ev[0].status == 200
    assert ev[0].reason == "OK"
    assert ev[1:] == [Data(b"hi"), EndOfMessage()]
    ev = reader.feed(b"HTTP/1.1 500 Oops\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n\r\n")
    assert isinstance(ev[0], Response)
    assert ev[0].framing is Framing.CHUNKED
    assert ev[1:] == [Data(b"x"), EndOfMessage()]
    closing = ResponseReader()
    ev = closing.feed(b"HTTP/1.1 200 OK\r\n\r\nstream")
    assert isinstance(ev[0], Response)
    assert ev[0].framing is Framing.CLOSE
    assert not ev[0].keep_alive
    assert closing.feed_eof() == [EndOfMessage()]


def test_head_response_has_no_body_and_reader_is_reused() -> None:
    reader = ResponseReader()
    reader.expect("HEAD")
    ev = reader.feed(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n")
    assert isinstance(ev[0], Response)
    assert ev[1:] == [EndOfMessage()]
    reader.expect("GET")
    ev = reader.feed(b"HTTP/1.1 204 No Content\r\n\r\n")
    assert isinstance(ev[0], Response)
    assert ev[0].status == 204
    assert ev[1:] == [EndOfMessage()]
    assert reader.reusable


def test_truncated_response_body_is_an_error() -> None:
    reader = ResponseReader()
    reader.feed(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc")
    with pytest.raises(HttpError):
        reader.feed_eof()


def test_forwardable_headers_drop_hop_by_hop_and_connection_named() -> None:
    headers = (
        (b"Host", b"a"),
        (b"Connection", b"keep-alive, X-Secret"),
        (b"X-Secret", b"1"),
        (b"Keep-Alive", b"timeout=5"),
        (b"Transfer-Encoding", b"chunked"),
        (b"Accept", b"*/*"),
    )
    assert forwardable_headers(headers) == [(b"Host", b"a"), (b"Accept", b"*/*")]


def test_serialised_request_parses_back_identically() -> None:
    head = serialize_request_head("PUT", "/p", [(b"Host", b"h"), (b"Transfer-Encoding", b"chunked")])
    events = parse_all(head + encode_chunk(b"abc") + encode_chunk(b"") + LAST_CHUNK)
    assert isinstance(events[0], Request)
    assert events[0].method == "PUT"
    assert bodies(events) == [b"abc"]


def test_serialiser_refuses_header_injection() -> None:
    with pytest.raises(HttpError):
        serialize_request_head("GET", "/", [(b"X", b"a\r\nEvil: 1")])
    with pytest.raises(HttpError):
        serialize_request_head("GET", "/ HTTP/1.1\r\nX: y", [])


# -- fuzzing -------------------------------------------------------------------


def reference_body(raw: bytes) -> tuple[str, bytes] | None:
    """An independent, deliberately simple strict reader of one request.

    Returns (framing, body) or None when a strict reader must refuse."""
    head, sep, rest = raw.partition(b"\r\n\r\n")
    if not sep:
        return None
    lines = head.split(b"\r\n")
    cl: list[bytes] = []
    te: list[bytes] = []
    for line in lines[1:]:
        name, colon, value = line.partition(b":")
        if not colon:
            return None
        lname = name.lower()
        if lname == b"content-length":
            cl.extend(v.strip() for v in value.split(b","))
        elif lname == b"transfer-encoding":
            te.extend(v.strip().lower() for v in value.split(b",") if v.strip())
    if te and cl:
        return None
    if te:
        if te[-1] != b"chunked":
            return None
        body = bytearray()
        while True:
            size_line, crlf, rest = rest.partition(b"\r\n")
            if not crlf:
                return None
            size_text = size_line.split(b";")[0]
            try:
                size = int(size_text, 16)
            except ValueError:
                return None
            if size == 0:
                return "chunked", bytes(body)
            body += rest[:size]
            rest = rest[size + 2 :]
    if cl:
        if len(set(cl)) != 1 or not cl[0].isdigit():
            return None
        return "length", rest[: int(cl[0])]
    return "none", b""


header_names = st.sampled_from(
    [b"Host", b"Content-Length", b"Transfer-Encoding", b"content-length", b"X-A", b"Transfer-encoding"]
)
header_values = st.one_of(
    st.sampled_from([b"chunked", b"gzip, chunked", b"chunked, gzip", b"3", b"03", b"3, 3", b"3,4", b"-1", b"x"]),
    st.binary(max_size=8),
)


@st.composite
def requests(draw: st.DrawFn) -> bytes:
    method = draw(st.sampled_from([b"GET", b"POST", b"PUT", b"G ET", b"get"]))
    target = draw(st.sampled_from([b"/", b"/a?b", b"*", b"http://x/y", b"/\x00"]))
    version = draw(st.sampled_from([b"HTTP/1.1", b"HTTP/1.0", b"HTTP/2.0", b"HTTP/1.1 "]))
    headers = draw(st.lists(st.tuples(header_names, header_values), max_size=5))
    body = draw(
        st.one_of(
            st.binary(max_size=20),
            st.sampled_from([b"3\r\nabc\r\n0\r\n\r\n", b"zz\r\nab\r\n0\r\n\r\n", b"3\r\nabcXX0\r\n\r\n"]),
        )
    )
    head = method + b" " + target + b" " + version + b"\r\n"
    head += b"".join(n + b": " + v + b"\r\n" for n, v in headers)
    return head + b"\r\n" + body


@settings(max_examples=400, deadline=None)
@given(raw=requests(), noise=st.binary(max_size=40), step=st.integers(min_value=1, max_value=64))
def test_fuzz_parser_only_raises_http_error_and_never_disagrees_on_framing(raw: bytes, noise: bytes, step: int) -> None:
    for candidate in (raw, noise, raw[: len(raw) // 2] + noise):
        reader = RequestReader()
        events: list[object] = []
        try:
            for i in range(0, len(candidate), step):
                events.extend(reader.feed(candidate[i : i + step]))
        except HttpError:
            continue
        first_request = next((e for e in events if isinstance(e, Request)), None)
        completed = bodies(events)
        if first_request is None or not completed:
            continue
        expected = reference_body(candidate)
        assert expected is not None, f"parser accepted what a strict reader refuses: {candidate!r}"
        framing, body = expected
        if framing == "length" and body == b"":
            framing = "none"
        assert first_request.framing.value == framing
        assert completed[0] == body
