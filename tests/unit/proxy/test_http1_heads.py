"""Header lookup, filtering and head serialisation on the fast path agree with the plain reading."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mesh.proxy.errors import HttpError
from mesh.proxy.http1 import (
    HOP_BY_HOP,
    Framing,
    Request,
    RequestReader,
    Response,
    ResponseReader,
    forwardable_headers,
    header_value,
    lower_names,
    serialize_request_head,
    serialize_response_head,
)

NAMES = st.sampled_from(
    [b"Host", b"HOST", b"Connection", b"connection", b"Keep-Alive", b"X-A", b"x-a", b"X-B", b"Upgrade",
     b"Transfer-Encoding", b"Content-Length", b"Expect", b"TE", b"Accept"]
)  # fmt: skip
VALUES = st.sampled_from([b"1", b"close", b"x-a", b"X-B, keep-alive", b"", b"websocket", b"a b"])
HEADERS = st.lists(st.tuples(NAMES, VALUES), max_size=8).map(tuple)


def parse_request(raw: bytes) -> Request:
    event = RequestReader().feed(raw)[0]
    assert isinstance(event, Request)
    return event


def test_request_header_lookup_ignores_case_and_takes_the_first() -> None:
    req = parse_request(b"GET / HTTP/1.1\r\nhOsT: web:80\r\nX-Twice: 1\r\nx-twice: 2\r\n\r\n")
    assert req.header(b"Host") == b"web:80"
    assert req.header(b"X-TWICE") == b"1"
    assert req.header(b"absent") is None


def test_response_content_length_is_read_from_any_case() -> None:
    reader = ResponseReader()
    reader.expect("GET")
    resp = reader.feed(b"HTTP/1.1 200 OK\r\ncontent-LENGTH: 3\r\n\r\nabc")[0]
    assert isinstance(resp, Response)
    assert (resp.framing, resp.content_length) == (Framing.LENGTH, 3)


@given(HEADERS, st.booleans(), st.booleans())
def test_filtering_with_known_names_matches_filtering_without(
    headers: tuple[tuple[bytes, bytes], ...], keep_upgrade: bool, drop_expect: bool
) -> None:
    drop = [b"EXPECT"] if drop_expect else []
    plain = forwardable_headers(headers, drop=drop, keep_upgrade=keep_upgrade)
    fast = forwardable_headers(headers, drop=drop, keep_upgrade=keep_upgrade, names=lower_names(headers))
    assert fast == plain
    kept = {name.lower() for name, _ in plain}
    allowed = {b"upgrade", b"connection"} if keep_upgrade else set()
    assert not (kept & HOP_BY_HOP) - allowed
    if drop_expect:
        assert b"expect" not in kept
    for name, value in headers:
        plain_end_to_end = name.lower() not in HOP_BY_HOP | {b"expect"}
        if plain_end_to_end and header_value(headers, b"connection") is None:
            assert (name, value) in plain


@pytest.mark.parametrize(
    "name", [b"", b"Bad Name", b"Bad:Name", b"Bad\tName", b"Bad\x7fName", b"Bad\xe9", b"X\r\nEvil"]
)
def test_serialiser_refuses_names_that_are_not_tokens(name: bytes) -> None:
    with pytest.raises(HttpError):
        serialize_response_head(200, "OK", [(name, b"v")])


@pytest.mark.parametrize("value", [b"a\rb", b"a\nb", b"a\r\nEvil: 1"])
def test_serialiser_refuses_line_breaks_in_values(value: bytes) -> None:
    with pytest.raises(HttpError):
        serialize_response_head(200, "OK", [(b"X", value)])


@pytest.mark.parametrize("target", ["", "/a b", "/a\x7f", "/\r\n"])
def test_serialiser_refuses_bad_targets(target: str) -> None:
    with pytest.raises(HttpError):
        serialize_request_head("GET", target, [])


def test_serialised_head_reads_back_exactly() -> None:
    head = serialize_request_head("GET", "/p?q=%C3%A9", [(b"Host", b"h"), (b"X-Empty", b"")])
    req = parse_request(head)
    assert (req.method, req.target) == ("GET", "/p?q=%C3%A9")
    assert req.headers == ((b"Host", b"h"), (b"X-Empty", b""))
    assert serialize_request_head("GET", "/", []) == b"GET / HTTP/1.1\r\n\r\n"
