"""The preface a client proxy writes first on every mTLS connection to a peer proxy.

It tells the server proxy which local port the client meant and which
protocol follows, so the server needs neither SO_ORIGINAL_DST nor
detection for meshed traffic (and gateways can forward on it). One line::

    MFP/1 <protocol> <port>\\r\\n

``protocol`` is ``http1`` or ``opaque`` (``h2`` is reserved for later).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import TransportHeaderError

MAGIC = b"MFP/1 "
MAX_LEN = 320  # room for a 253-character DNS name and a port
PROTOCOLS = frozenset({"http1", "opaque", "h2"})
_NAME = re.compile(r"^[a-z0-9]([a-z0-9.-]*[a-z0-9])?:[0-9]{1,5}$")


@dataclass(frozen=True, slots=True)
class TransportHeader:
    protocol: str
    port: int
    name: str = ""  # for a gateway: the service it should forward to

    def encode(self) -> bytes:
        if self.protocol not in PROTOCOLS or not 0 < self.port <= 65535 or (self.name and not _valid(self.name)):
            raise TransportHeaderError(f"cannot encode {self!r}")
        name = f" {self.name}" if self.name else ""
        return MAGIC + f"{self.protocol} {self.port}{name}".encode("ascii") + b"\r\n"


def _valid(name: str) -> bool:
    return len(name) <= MAX_LEN - 32 and bool(_NAME.match(name)) and 0 < int(name.rsplit(":", 1)[1]) <= 65535


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
    if len(parts) not in (2, 3) or not parts[1].isdigit():
        raise TransportHeaderError("connection preface is malformed")
    protocol = parts[0].decode("ascii", "replace")
    port = int(parts[1])
    if protocol not in PROTOCOLS or not 0 < port <= 65535:
        raise TransportHeaderError("connection preface names an unknown protocol or a bad port")
    name = parts[2].decode("ascii", "replace") if len(parts) == 3 else ""
    if len(parts) == 3 and not _valid(name):
        raise TransportHeaderError("connection preface names a malformed target")
    return TransportHeader(protocol, port, name), end + 2
