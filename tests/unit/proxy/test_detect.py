from __future__ import annotations

import pytest

from mesh.proxy.detect import Protocol, detect, parse_port_list
from mesh.proxy.errors import TransportHeaderError
from mesh.proxy.transport_header import TransportHeader, decode

CLIENT_HELLO_START = bytes([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xFC, 0x03, 0x03])


@pytest.mark.parametrize(
    ("prefix", "expected"),
    [
        (b"GET / HTTP/1.1\r\n", Protocol.HTTP1),
        (b"OPTIONS * HTTP/1.1", Protocol.HTTP1),
        (b"PATCH ", Protocol.HTTP1),
        (b"GE", Protocol.NEED_MORE),
        (b"POS", Protocol.NEED_MORE),
        (b"", Protocol.NEED_MORE),
        (CLIENT_HELLO_START, Protocol.TLS),
        (CLIENT_HELLO_START[:3], Protocol.NEED_MORE),
        (bytes([0x16, 0x03, 0x03, 0x00, 0x10, 0x02]), Protocol.OPAQUE),  # ServerHello, not a client
        (bytes([0x16, 0x07]), Protocol.OPAQUE),
        (b"\x00\x00\x00\x0cSSH", Protocol.OPAQUE),
        (b"GETX", Protocol.OPAQUE),
        (b"PRI * HTTP/2.0", Protocol.OPAQUE),
    ],
)
def test_detect(prefix: bytes, expected: Protocol) -> None:
    assert detect(prefix) is expected


def test_detection_grows_monotonically_for_http() -> None:
    text = b"DELETE /x HTTP/1.1\r\n"
    results = [detect(text[:i]) for i in range(1, len(text))]
    assert set(results[:6]) == {Protocol.NEED_MORE}
    assert set(results[6:]) == {Protocol.HTTP1}


def test_port_list_parsing() -> None:
    assert parse_port_list("25, 3306,4000-4002,") == frozenset({25, 3306, 4000, 4001, 4002})
    with pytest.raises(ValueError, match="abc"):
        parse_port_list("abc")
    with pytest.raises(ValueError, match="70000"):
        parse_port_list("70000")


def test_transport_header_round_trip_and_partial() -> None:
    raw = TransportHeader("http1", 8080).encode() + b"GET /"
    assert decode(raw[:5]) is None
    header, used = decode(raw) or (None, 0)
    assert header == TransportHeader("http1", 8080)
    assert raw[used:] == b"GET /"


@pytest.mark.parametrize("raw", [b"GET / HTTP/1.1\r\n", b"MFP/1 ftp 21\r\n", b"MFP/1 http1 99999\r\n", b"M" * 80])
def test_transport_header_refuses_garbage(raw: bytes) -> None:
    with pytest.raises(TransportHeaderError):
        decode(raw)
