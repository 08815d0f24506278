"""Framing of the destination stream: one JSON object per line (NDJSON), sans-I/O.

Lines are capped so a broken or hostile peer cannot make the other side
buffer without bound; the cap is far above the largest real message (a
service with thousands of endpoints is a few hundred KiB).
"""

from __future__ import annotations

import json
from typing import Any

from .errors import ProtocolError

MAX_FRAME = 4 * 1024 * 1024

Message = dict[str, Any]


def encode(message: Message) -> bytes:
    return json.dumps(message, separators=(",", ":"), sort_keys=True).encode("utf-8") + b"\n"


class FrameDecoder:
    """Feed bytes, get complete messages."""

    def __init__(self, max_frame: int = MAX_FRAME) -> None:
        self._buf = bytearray()
        self._max = max_frame

    def feed(self, data: bytes) -> list[Message]:
        self._buf += data
        out: list[Message] = []
        while True:
            nl = self._buf.find(b"\n")
            if nl < 0:
                if len(self._buf) > self._max:
                    raise ProtocolError(f"a frame exceeds {self._max} bytes")
                return out
            line = bytes(self._buf[:nl])
            del self._buf[: nl + 1]
            if len(line) > self._max:
                raise ProtocolError(f"a frame exceeds {self._max} bytes")
            if not line.strip():
                continue  # blank lines are keep-alive padding
            try:
                msg = json.loads(line)
            except ValueError as e:
                raise ProtocolError("a frame is not JSON") from e
            if not isinstance(msg, dict):
                raise ProtocolError("a frame is not a JSON object")
            out.append(msg)
