"""The preface a client proxy writes first on every mTLS connection to a peer proxy.

It tells the server proxy which local port the client meant and which
protocol follows, so the server needs neither SO_ORIGINAL_DST nor
detection for meshed traffic (and gateways can forward on it). One line::

    MFP/1 <protocol> <port>\\r\\n

``protocol`` is ``http1`` or ``opaque`` (``h2`` is reserved for later).
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import TransportHeaderError

MAGIC = b"MFP/1 "
MAX_LEN = 64
PROTOCOLS = frozenset({"http1", "opaque", "h2"})


@dataclass(frozen=True, slots=True)
class TransportHeader:
    protocol: str
    port: int

    def encode(self) -> bytes:
        if self.protocol not in PROTOCOLS or not 0 < self.port <= 65535:
            raise TransportHeaderError(f"cannot encode {self!r}")
        return MAGIC + f"{self.protocol} {self.port}".encode("ascii") + b"\r\n"


def decode(buffer: bytes) -> tuple[TransportHeader, int] | None:
    """Parse a header at the start of ``buffer``.

    Returns (header, bytes consumed), or None when more bytes are needed.
    """
    end = buffer.find(b"\r\n", 0, MAX_LEN)
    if end < 0:
        if len(buffer) >= MAX_LEN or not MAGIC.startswith(buffer[: len(MAGIC)]):
            raise TransportHeaderError("connection preface missing or too long")
        return None
    line = buffer[:end]
    if not line.startswith(MAGIC):
        raise TransportHeaderError("connection preface has the wrong magic")
    parts = line[len(MAGIC) :].split(b" ")
    if len(parts) != 2 or not parts[1].isdigit():
        raise TransportHeaderError("connection preface is malformed")
    protocol = parts[0].decode("ascii", "replace")
    port = int(parts[1])
    if protocol not in PROTOCOLS or not 0 < port <= 65535:
        raise TransportHeaderError("connection preface names an unknown protocol or a bad port")
    return TransportHeader(protocol, port), end + 2
