"""DNS messages: just enough of RFC 1035 to answer A/AAAA queries for cluster names (pure)."""

from __future__ import annotations

import ipaddress
import struct
from dataclasses import dataclass

TYPE_A, TYPE_AAAA, CLASS_IN = 1, 28, 1
RCODE_OK, RCODE_FORMERR, RCODE_SERVFAIL, RCODE_NXDOMAIN, RCODE_NOTIMP = 0, 1, 2, 3, 4


class DnsFormatError(ValueError):
    """The bytes are not a DNS query we can read."""


@dataclass(frozen=True, slots=True)
class Question:
    name: str  # lower case, no trailing dot
    qtype: int
    qclass: int


@dataclass(frozen=True, slots=True)
class Query:
    ident: int
    flags: int
    question: Question


def _read_name(data: bytes, offset: int) -> tuple[str, int]:
    labels = []
    while True:
        if offset >= len(data):
            raise DnsFormatError("name runs past the end of the message")
        length = data[offset]
        offset += 1
        if length == 0:
            break
        if length & 0xC0:
            raise DnsFormatError("compressed names are not expected in a question")
        labels.append(data[offset:offset + length].decode("ascii", errors="replace"))
        offset += length
    return ".".join(labels).lower(), offset


def parse_query(data: bytes) -> Query:
    if len(data) < 12:
        raise DnsFormatError("shorter than a DNS header")
    ident, flags, qdcount = struct.unpack("!HHH", data[:6])
    if flags & 0x8000:
        raise DnsFormatError("a response, not a query")
    if qdcount != 1:
        raise DnsFormatError(f"{qdcount} questions; exactly one is supported")
    name, offset = _read_name(data, 12)
    if offset + 4 > len(data):
        raise DnsFormatError("question is cut short")
    qtype, qclass = struct.unpack("!HH", data[offset:offset + 4])
    return Query(ident, flags, Question(name, qtype, qclass))


def _encode_name(name: str) -> bytes:
    out = b""
    for label in name.split("."):
        if label:
            raw = label.encode("ascii")
            out += bytes([len(raw)]) + raw
    return out + b"\0"


def response(query: Query, rcode: int, addresses: list[str], ttl: int = 5) -> bytes:
    """An authoritative answer to ``query`` with A (or AAAA) records for ``addresses``."""
    q = query.question
    recursion_desired = query.flags & 0x0100
    flags = 0x8000 | 0x0400 | recursion_desired | (rcode & 0xF)
    answers = b""
    count = 0
    for addr in addresses:
        ip = ipaddress.ip_address(addr)
        if (q.qtype == TYPE_A and ip.version == 4) or (q.qtype == TYPE_AAAA and ip.version == 6):
            # 0xC00C points back at the question's name at offset 12.
            answers += struct.pack("!HHHIH", 0xC00C, q.qtype, CLASS_IN, ttl, len(ip.packed)) + ip.packed
            count += 1
    header = struct.pack("!HHHHHH", query.ident, flags, 1, count, 0, 0)
    return header + _encode_name(q.name) + struct.pack("!HH", q.qtype, q.qclass) + answers


def error_response(data: bytes, rcode: int) -> bytes | None:
    """A bare error answer echoing the id of an unreadable query, or None if not even that is there."""
    if len(data) < 2:
        return None
    return data[:2] + struct.pack("!HHHHH", 0x8000 | (rcode & 0xF), 0, 0, 0, 0)
