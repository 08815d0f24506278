"""Protocol detection from the first bytes a client sends.

The shell peeks at the first bytes without consuming them and calls
``detect`` each time more arrive, until the answer is not ``NEED_MORE`` or
its detection timeout passes (then the connection is opaque TCP: a protocol
where the server speaks first looks exactly like a client that is silent).
"""

from __future__ import annotations

import enum
from collections.abc import Collection

# Longest method plus the following space: "OPTIONS ".
_METHODS = (b"GET", b"HEAD", b"POST", b"PUT", b"DELETE", b"OPTIONS", b"PATCH", b"TRACE", b"CONNECT")
_PREFIXES = tuple(m + b" " for m in _METHODS)
PEEK_BYTES = 16


class Protocol(enum.Enum):
    HTTP1 = "http/1"
    TLS = "tls"
    OPAQUE = "opaque"
    NEED_MORE = "need-more"


def detect(prefix: bytes) -> Protocol:
    """Classify a connection from the bytes seen so far."""
    if not prefix:
        return Protocol.NEED_MORE
    # TLS record: handshake (0x16), version 3.x, then a ClientHello (type 1).
    if prefix[0] == 0x16:
        if len(prefix) < 6:
            return _partial_tls(prefix)
        if prefix[1] == 0x03 and prefix[2] <= 0x04 and prefix[5] == 0x01:
            return Protocol.TLS
        return Protocol.OPAQUE
    could_be_http = False
    for candidate in _PREFIXES:
        n = min(len(prefix), len(candidate))
        if prefix[:n] == candidate[:n]:
            if len(prefix) >= len(candidate):
                return Protocol.HTTP1
            could_be_http = True
    return Protocol.NEED_MORE if could_be_http else Protocol.OPAQUE


def _partial_tls(prefix: bytes) -> Protocol:
    if len(prefix) >= 2 and prefix[1] != 0x03:
        return Protocol.OPAQUE
    if len(prefix) >= 3 and prefix[2] > 0x04:
        return Protocol.OPAQUE
    return Protocol.NEED_MORE


def is_opaque_port(port: int, opaque_ports: Collection[int]) -> bool:
    """Ports configured as opaque skip detection entirely (server-first protocols)."""
    return port in opaque_ports


def parse_port_list(text: str) -> frozenset[int]:
    """Parse "25,3306,4000-4002" into a set of ports; raises ValueError naming the bad item."""
    ports: set[int] = set()
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        low_text, dash, high_text = item.partition("-")
        try:
            low = int(low_text)
            high = int(high_text) if dash else low
        except ValueError as e:
            raise ValueError(f"not a port or port range: {item!r}") from e
        if not (0 < low <= high <= 65535):
            raise ValueError(f"port range out of bounds: {item!r}")
        ports.update(range(low, high + 1))
    return frozenset(ports)


MAX_CLIENT_HELLO = 16 * 1024 + 5


def client_hello_sni(data: bytes) -> tuple[bool, str | None]:
    """Server name from a TLS ClientHello at the start of ``data``.

    Returns (complete, name): complete is False while the first record is
    still incomplete; name is None when the hello carries no server name or
    cannot be read. The inbound side uses it to tell TLS meant for this
    proxy (server name = our identity) from an application's own TLS.
    """
    if len(data) < 5:
        return False, None
    record_len = int.from_bytes(data[3:5], "big")
    end = 5 + record_len
    if len(data) < end:
        return (False, None) if end <= MAX_CLIENT_HELLO else (True, None)
    try:
        return True, _sni_from_handshake(data[5:end])
    except IndexError:
        return True, None


def _sni_from_handshake(hs: bytes) -> str | None:
    if hs[0] != 0x01:
        return None
    pos = 4 + 2 + 32  # handshake header, client_version, random
    pos += 1 + hs[pos]  # session id
    pos += 2 + int.from_bytes(hs[pos : pos + 2], "big")  # cipher suites
    pos += 1 + hs[pos]  # compression methods
    ext_end = pos + 2 + int.from_bytes(hs[pos : pos + 2], "big")
    pos += 2
    while pos + 4 <= ext_end:
        ext_type = int.from_bytes(hs[pos : pos + 2], "big")
        ext_len = int.from_bytes(hs[pos + 2 : pos + 4], "big")
        body = hs[pos + 4 : pos + 4 + ext_len]
        if ext_type == 0:  # server_name
            p = 2
            while p + 3 <= len(body):
                name_type = body[p]
                name_len = int.from_bytes(body[p + 1 : p + 3], "big")
                if name_type == 0:
                    return body[p + 3 : p + 3 + name_len].decode("ascii", "replace")
                p += 3 + name_len
            return None
        pos += 4 + ext_len
    return None
