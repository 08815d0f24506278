"""A minimal HTTP/1.1 client for one JSON POST per connection.

The proxy must not load aiohttp, and certify is one small request every few
hours, so a hand-written exchange over an asyncio TLS stream is enough:
`Connection: close`, read to EOF, then parse.  Building and parsing are pure.
"""

from __future__ import annotations

import asyncio
import ssl
from dataclasses import dataclass

from .errors import TransportError

MAX_RESPONSE_BYTES = 1024 * 1024


@dataclass(frozen=True, slots=True)
class HttpResponse:
    status: int
    headers: dict[str, str]
    body: bytes


def build_post(host: str, path: str, body: bytes, content_type: str = "application/json") -> bytes:
    head = (
        f"POST {path} HTTP/1.1\r\n"
        f"Host: {host}\r\n"
        f"Content-Type: {content_type}\r\n"
        f"Content-Length: {len(body)}\r\n"
        "Accept: application/json\r\n"
        "Connection: close\r\n"
        "\r\n"
    )
    return head.encode("ascii") + body


def _dechunk(data: bytes) -> bytes:
    out = bytearray()
    while True:
        line, sep, rest = data.partition(b"\r\n")
        if not sep:
            raise TransportError("truncated chunked body")
        try:
            size = int(line.split(b";", 1)[0].strip(), 16)
        except ValueError as e:
            raise TransportError("bad chunk size in the response") from e
        if size == 0:
            return bytes(out)
        if len(rest) < size + 2:
            raise TransportError("truncated chunked body")
        out += rest[:size]
        data = rest[size + 2 :]


def parse_response(raw: bytes) -> HttpResponse:
    """Parse a complete HTTP/1.1 response read until the server closed the connection."""
    head, sep, rest = raw.partition(b"\r\n\r\n")
    if not sep:
        raise TransportError("the response ended before its headers did")
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].isdigit():
        raise TransportError(f"not an HTTP/1.x status line: {lines[0][:80]!r}")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, colon, value = line.partition(":")
        if not colon:
            raise TransportError("malformed response header")
        headers[name.strip().lower()] = value.strip()
    if headers.get("transfer-encoding", "").lower() == "chunked":
        body = _dechunk(rest)
    elif "content-length" in headers:
        try:
            length = int(headers["content-length"])
        except ValueError as e:
            raise TransportError("bad Content-Length in the response") from e
        if len(rest) < length:
            raise TransportError(f"the response body is {len(rest)} bytes, {length} were announced")
        body = rest[:length]
    else:
        body = rest
    return HttpResponse(status=int(parts[1]), headers=headers, body=body)


async def post(
    host: str,
    port: int,
    path: str,
    body: bytes,
    *,
    ssl_context: ssl.SSLContext,
    server_name: str,
    within: float,
) -> HttpResponse:
    """POST over a fresh TLS connection whose peer is verified as `server_name`; give up after `within` s."""
    try:
        async with asyncio.timeout(within):
            reader, writer = await asyncio.open_connection(host, port, ssl=ssl_context, server_hostname=server_name)
            try:
                writer.write(build_post(server_name, path, body))
                await writer.drain()
                raw = await reader.read(MAX_RESPONSE_BYTES + 1)
                chunks = [raw]
                while raw:
                    raw = await reader.read(MAX_RESPONSE_BYTES)
                    chunks.append(raw)
                    if sum(map(len, chunks)) > MAX_RESPONSE_BYTES:
                        raise TransportError(f"the response exceeds {MAX_RESPONSE_BYTES} bytes")
            finally:
                writer.close()
                try:
                    await writer.wait_closed()
                except (OSError, ssl.SSLError):
                    pass  # The exchange is over; a ragged TLS close changes nothing.
    except TimeoutError as e:
        raise TransportError(f"no answer from {host}:{port} within {within:g}s") from e
    except ssl.SSLCertVerificationError as e:
        raise TransportError(f"{host}:{port} is not {server_name}: {e.verify_message}") from e
    except (OSError, ssl.SSLError) as e:
        raise TransportError(f"cannot reach {host}:{port}: {e.strerror or type(e).__name__}") from e
    return parse_response(b"".join(chunks))
