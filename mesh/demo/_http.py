"""HTTP/1.1 framing for the demo app: requests in, responses out, over httptools (no I/O here).

The demo app starts in every pod of an example or a benchmark, so its start-up
cost is multiplied by the pods: a web framework's imports cost ten times what
the interpreter and asyncio do.  These few pieces are all the app needs.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qsl, urlsplit

import httptools

from mesh.demo.errors import DownstreamError

# The statuses the app sends (http.HTTPStatus would build a 60-member enum at every start).
_REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed",
            500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable"}


# Trace context headers the app hands on to its downstream calls: the mesh's proxies
# record spans, but only the application knows which outgoing call belongs to which request.
TRACE_HEADERS = (b"traceparent", b"tracestate")

Headers = tuple[tuple[bytes, bytes], ...]


@dataclass(frozen=True, slots=True)
class Request:
    method: str
    path: str
    query: dict[str, str]
    keep_alive: bool
    trace: Headers = ()


class RequestReader:
    """Feed it bytes from a connection; it returns each request as soon as it is complete."""

    def __init__(self) -> None:
        self._parser = httptools.HttpRequestParser(self)
        self._url = b""
        self._trace: list[tuple[bytes, bytes]] = []
        self._done: list[Request] = []

    # httptools callbacks
    def on_message_begin(self) -> None:
        self._url = b""
        self._trace = []

    def on_url(self, url: bytes) -> None:
        self._url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        lower = name.lower()
        if lower in TRACE_HEADERS:
            self._trace.append((lower, value))

    def on_message_complete(self) -> None:
        parsed = httptools.parse_url(self._url)
        query = dict(parse_qsl(parsed.query.decode("latin-1"))) if parsed.query else {}
        self._done.append(Request(self._parser.get_method().decode("ascii"), parsed.path.decode("latin-1"), query,
                                  self._parser.should_keep_alive(), tuple(self._trace)))

    def feed(self, data: bytes) -> list[Request]:
        """Complete requests in ``data``; raises httptools.HttpParserError on a malformed one."""
        self._parser.feed_data(data)
        out, self._done = self._done, []
        return out


def response(status: int, body: bytes, content_type: str, keep_alive: bool, head: bool = False) -> bytes:
    """A whole HTTP/1.1 response; a HEAD answer has the headers of the GET one and no body."""
    reason = _REASONS.get(status, "")
    head_lines = (f"HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
                  f"Connection: {'keep-alive' if keep_alive else 'close'}\r\n\r\n")
    return head_lines.encode("latin-1") + (b"" if head else body)


@dataclass(frozen=True, slots=True)
class Target:
    """Where a downstream URL points: the connection to open and the request line's target."""

    host: str
    port: int
    authority: str  # the Host header
    path: str  # path and query

    @property
    def key(self) -> tuple[str, int]:
        return self.host, self.port


def target(url: str) -> Target:
    try:
        parts = urlsplit(url)
        port = parts.port or 80
    except ValueError as e:
        raise DownstreamError(f"{url}: not a URL ({e})") from e
    if parts.scheme != "http" or not parts.hostname:
        raise DownstreamError(f"{url}: the demo app calls plain http:// URLs only (the mesh adds TLS)")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Target(parts.hostname, port, parts.netloc, path)


def get_request(t: Target, headers: Headers = ()) -> bytes:
    extra = b"".join(b"%s: %s\r\n" % pair for pair in headers)
    return (f"GET {t.path} HTTP/1.1\r\nHost: {t.authority}\r\nUser-Agent: meshfleet-demo\r\nAccept: */*\r\n"
            ).encode("latin-1") + extra + b"\r\n"


class ResponseReader:
    """Collects one response: its status, body and whether the connection may carry another request."""

    def __init__(self) -> None:
        self._parser = httptools.HttpResponseParser(self)
        self._body: list[bytes] = []
        self.headers_done = False
        self.complete = False
        self.status = 0
        self.keep_alive = False
        self._framed = False  # a length or chunked body: it ends by itself, not when the peer closes

    # httptools callbacks
    def on_header(self, name: bytes, _value: bytes) -> None:
        if name.lower() in (b"content-length", b"transfer-encoding"):
            self._framed = True

    def on_headers_complete(self) -> None:
        self.headers_done = True
        self.status = self._parser.get_status_code()

    def on_body(self, body: bytes) -> None:
        self._body.append(body)

    def on_message_complete(self) -> None:
        self.complete = True
        self.keep_alive = self._parser.should_keep_alive()

    @property
    def body(self) -> bytes:
        return b"".join(self._body)

    def feed(self, data: bytes) -> None:
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as e:
            raise DownstreamError(f"malformed HTTP response: {e}") from e

    def eof(self) -> None:
        """The peer closed: a response without a length ends here; one cut short is an error."""
        if not self.headers_done:
            raise DownstreamError("the connection closed before a response arrived")
        if not self.complete:
            if self._framed:
                raise DownstreamError("the connection closed in the middle of a response")
            self.complete, self.keep_alive = True, False
