"""HTTP/1.x framing without I/O, on top of httptools (llhttp).

Bytes go in with ``feed``; events come out in order. A ``RequestReader``
reads what a client sends to the proxy, a ``ResponseReader`` what a backend
answers. Neither reads from or writes to a socket: the async shell owns that.

Framing is decided once, from the headers, by a strict reading of RFC 9112:
``Transfer-Encoding`` together with ``Content-Length``, two differing lengths,
a malformed length or a header section over the limit are refused with
``HttpError``, so a request whose length two parties could read differently
never reaches a backend (request smuggling).
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import NamedTuple, NoReturn

import httptools

from .errors import HeadersTooLarge, HttpError, UnsupportedHttp

MAX_HEAD_BYTES = 64 * 1024

Headers = tuple[tuple[bytes, bytes], ...]

# Headers that describe one hop, not the message; never forwarded as received.
HOP_BY_HOP = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-connection",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
        b"content-length",
    }
)


class Framing(enum.Enum):
    """How the end of a message body is found."""

    NONE = "none"  # no body at all
    LENGTH = "length"  # exactly Content-Length bytes
    CHUNKED = "chunked"  # chunked transfer coding
    CLOSE = "close"  # until the connection closes (responses only)


# Requests, responses and body pieces are made once or more per proxied
# message: immutable named tuples, which build several times faster than
# frozen dataclasses (no per-field ``object.__setattr__``).


class Request(NamedTuple):
    method: str
    target: str
    version: str
    headers: Headers
    framing: Framing
    content_length: int | None
    keep_alive: bool
    upgrade: bool
    # Lower-cased header names, index for index with ``headers``: computed once
    # while parsing, so lookups and filtering never lower-case a name again.
    names: tuple[bytes, ...] | None = None

    def header(self, name: bytes) -> bytes | None:
        names = self.names
        if names is None:
            return header_value(self.headers, name)
        try:
            return self.headers[names.index(name.lower())][1]
        except ValueError:
            return None


class Response(NamedTuple):
    status: int
    reason: str
    version: str
    headers: Headers
    framing: Framing
    content_length: int | None
    keep_alive: bool
    names: tuple[bytes, ...] | None = None  # lower-cased, as in ``Request``

    def header(self, name: bytes) -> bytes | None:
        names = self.names
        if names is None:
            return header_value(self.headers, name)
        try:
            return self.headers[names.index(name.lower())][1]
        except ValueError:
            return None


class Data(NamedTuple):
    data: bytes


@dataclass(frozen=True, slots=True)
class EndOfMessage:
    pass


@dataclass(frozen=True, slots=True)
class Upgraded:
    """The connection stopped speaking HTTP; ``trailing`` already belongs to the tunnel."""

    trailing: bytes


Event = Request | Response | Data | EndOfMessage | Upgraded

# EndOfMessage carries nothing, so every message shares one (no allocation per message).
END_OF_MESSAGE = EndOfMessage()


def header_value(headers: Headers, name: bytes) -> bytes | None:
    """First value of ``name`` (case-insensitive), or None."""
    lname = name.lower()
    for key, value in headers:
        if key.lower() == lname:
            return value
    return None


def lower_names(headers: Headers) -> tuple[bytes, ...]:
    return tuple([k.lower() for k, _ in headers])


def _header_values(headers: Headers, name: bytes, names: Sequence[bytes] | None = None) -> list[bytes]:
    if names is None:
        return [v for k, v in headers if k.lower() == name]
    if name not in names:
        return []
    return [v for (_, v), k in zip(headers, names, strict=True) if k == name]


def _parse_content_length(headers: Headers, names: Sequence[bytes] | None = None) -> int | None:
    if names is not None:
        n = names.count(b"content-length")
        if n == 0:
            return None
        if n == 1:  # the usual case, without building lists
            single = headers[names.index(b"content-length")][1].strip()
            if single.isdigit() and len(single) <= 18:
                return int(single)
    values: list[bytes] = []
    for raw in _header_values(headers, b"content-length", names):
        values.extend(part.strip() for part in raw.split(b","))
    if not values:
        return None
    if any(not v.isdigit() or len(v) > 18 for v in values):
        raise HttpError("Content-Length is not a decimal number")
    if len(set(int(v) for v in values)) != 1:
        raise HttpError("conflicting Content-Length values")
    return int(values[0])


def _transfer_codings(headers: Headers, names: Sequence[bytes] | None = None) -> list[bytes]:
    codings: list[bytes] = []
    for raw in _header_values(headers, b"transfer-encoding", names):
        codings.extend(c.strip().lower() for c in raw.split(b",") if c.strip())
    return codings


def request_framing(headers: Headers, names: Sequence[bytes] | None = None) -> tuple[Framing, int | None]:
    """Strict body framing of a request (RFC 9112 section 6.3); ``names`` are the lower-cased names if known."""
    codings = _transfer_codings(headers, names)
    length = _parse_content_length(headers, names)
    if codings:
        if length is not None:
            raise HttpError("both Transfer-Encoding and Content-Length")
        if codings[-1] != b"chunked" or codings.count(b"chunked") != 1:
            raise HttpError("request Transfer-Encoding must end with a single chunked")
        return Framing.CHUNKED, None
    if length is not None:
        return (Framing.LENGTH, length) if length else (Framing.NONE, 0)
    return Framing.NONE, None


def response_framing(
    headers: Headers, status: int, request_method: str, names: Sequence[bytes] | None = None
) -> tuple[Framing, int | None]:
    """Strict body framing of a response to ``request_method``."""
    if request_method == "HEAD" or 100 <= status < 200 or status in (204, 304):
        return Framing.NONE, None
    codings = _transfer_codings(headers, names)
    length = _parse_content_length(headers, names)
    if codings:
        if length is not None:
            raise HttpError("both Transfer-Encoding and Content-Length")
        if codings[-1] == b"chunked" and codings.count(b"chunked") == 1:
            return Framing.CHUNKED, None
        return Framing.CLOSE, None
    if length is not None:
        return (Framing.LENGTH, length) if length else (Framing.NONE, 0)
    return Framing.CLOSE, None


class _Reader:
    """Shared machinery: httptools callbacks turned into queued events."""

    def __init__(self, max_head_bytes: int) -> None:
        self._max_head = max_head_bytes
        self._events: list[Event] = []
        self._url = bytearray()
        self._reason = bytearray()
        self._headers: list[tuple[bytes, bytes]] = []
        self._head_bytes = 0
        self._in_head = True
        self._failure: HttpError | None = None
        self._upgraded = False

    # -- httptools callbacks -------------------------------------------------
    def on_message_begin(self) -> None:
        self._url.clear()
        self._reason.clear()
        self._headers = []
        self._head_bytes = 0
        self._in_head = True

    def _count(self, n: int) -> None:
        self._head_bytes += n
        if self._head_bytes > self._max_head:
            self._fail(HeadersTooLarge(f"header section larger than {self._max_head} bytes"))

    def _fail(self, err: HttpError) -> NoReturn:
        self._failure = err
        raise err  # stops llhttp; surfaces as HttpParserCallbackError

    def on_url(self, url: bytes) -> None:
        self._head_bytes += len(url)
        if self._head_bytes > self._max_head:
            self._count(0)
        self._url += url

    def on_status(self, reason: bytes) -> None:
        self._head_bytes += len(reason)
        if self._head_bytes > self._max_head:
            self._count(0)
        self._reason += reason

    def on_header(self, name: bytes, value: bytes) -> None:
        if not self._in_head:
            return  # trailers after a chunked body are dropped, never forwarded
        self._head_bytes += len(name) + len(value) + 4
        if self._head_bytes > self._max_head:
            self._fail(HeadersTooLarge(f"header section larger than {self._max_head} bytes"))
        self._headers.append((name, value))

    def on_body(self, body: bytes) -> None:
        self._events.append(Data(bytes(body)))

    def on_message_complete(self) -> None:
        self._events.append(END_OF_MESSAGE)
        self._in_head = True
        self._head_bytes = 0

    # -- driving -------------------------------------------------------------
    def _feed(self, parser: httptools.HttpRequestParser | httptools.HttpResponseParser, data: bytes) -> None:
        if self._failure is not None:
            raise self._failure
        if self._upgraded:
            raise HttpError("connection already upgraded; bytes belong to the tunnel")
        was_in_head = self._in_head
        try:
            parser.feed_data(data)
        except httptools.HttpParserUpgrade as up:
            offset = int(up.args[0]) if up.args else len(data)
            self._upgraded = True
            self._events.append(Upgraded(bytes(data[offset:])))
            return
        except httptools.HttpParserCallbackError as e:
            if self._failure is not None:
                raise self._failure from e
            raise HttpError("HTTP parser callback failed") from e
        except httptools.HttpParserError as e:
            self._failure = HttpError(f"malformed HTTP: {e}")
            raise self._failure from e
        # A head that spans this whole chunk counts entirely, so bytes the
        # parser skips without a callback cannot grow without bound.
        if was_in_head and self._in_head:
            self._head_bytes += len(data)
            if self._head_bytes > self._max_head * 2:
                self._failure = HeadersTooLarge(f"header section larger than {self._max_head} bytes")
                raise self._failure

    def _take(self) -> list[Event]:
        events, self._events = self._events, []
        return events


class RequestReader(_Reader):
    """Reads requests from a client connection."""

    def __init__(self, max_head_bytes: int = MAX_HEAD_BYTES) -> None:
        super().__init__(max_head_bytes)
        self._parser = httptools.HttpRequestParser(self)

    def on_headers_complete(self) -> None:
        headers = tuple(self._headers)
        names = lower_names(headers)
        method = self._parser.get_method().decode("ascii")
        if method == "CONNECT":
            self._fail(UnsupportedHttp("CONNECT is not forwarded"))
        if names.count(b"host") > 1:
            self._fail(HttpError("more than one Host header"))
        if b"transfer-encoding" in names or b"content-length" in names:
            try:
                framing, length = request_framing(headers, names)
            except HttpError as e:
                self._fail(e)
        else:
            framing, length = Framing.NONE, None
        self._in_head = False
        self._events.append(
            Request(
                method=method,
                target=bytes(self._url).decode("latin-1"),
                version=self._parser.get_http_version(),
                headers=headers,
                framing=framing,
                content_length=length,
                keep_alive=bool(self._parser.should_keep_alive()),
                upgrade=bool(self._parser.should_upgrade()),
                names=names,
            )
        )

    def feed(self, data: bytes) -> list[Event]:
        """Parse ``data``; raises ``HttpError`` on anything malformed."""
        self._feed(self._parser, data)
        return self._take()


class ResponseReader(_Reader):
    """Reads responses from a backend; call ``expect`` before each request is sent."""

    def __init__(self, max_head_bytes: int = MAX_HEAD_BYTES) -> None:
        super().__init__(max_head_bytes)
        self._parser = httptools.HttpResponseParser(self)
        self._method = "GET"
        self._framing = Framing.NONE
        self._replaced = False
        self.reusable = True

    def expect(self, method: str) -> None:
        self._method = method

    # The base class's callbacks, each guarded by ``_replaced`` and written out
    # rather than calling ``super()``: they run for every response.
    def on_message_begin(self) -> None:
        if self._replaced:
            self.reusable = False
            return
        self._url.clear()
        self._reason.clear()
        self._headers = []
        self._head_bytes = 0
        self._in_head = True

    def on_body(self, body: bytes) -> None:
        if self._replaced:
            self.reusable = False  # bytes after a body-less HEAD answer: the peer is confused
            return
        self._events.append(Data(bytes(body)))

    def on_message_complete(self) -> None:
        if self._replaced:
            return
        self._events.append(END_OF_MESSAGE)
        self._in_head = True
        self._head_bytes = 0

    def on_headers_complete(self) -> None:
        if self._replaced:
            self.reusable = False
            return
        headers = tuple(self._headers)
        names = lower_names(headers)
        status = int(self._parser.get_status_code())
        try:
            framing, length = response_framing(headers, status, self._method, names)
        except HttpError as e:
            self._fail(e)
        self._framing = framing
        self._in_head = False
        keep_alive = bool(self._parser.should_keep_alive()) and framing is not Framing.CLOSE
        self._events.append(
            Response(
                status=status,
                reason=bytes(self._reason).decode("latin-1"),
                version=self._parser.get_http_version(),
                headers=headers,
                framing=framing,
                content_length=length,
                keep_alive=keep_alive,
                names=names,
            )
        )
        if self._method == "HEAD" and status >= 200:
            # llhttp cannot be told the request was HEAD; it would wait for a
            # body that never comes. End the message here, use a fresh parser.
            self._events.append(END_OF_MESSAGE)
            self._in_head = True
            self._replaced = True

    def feed(self, data: bytes) -> list[Event]:
        self._feed(self._parser, data)
        if self._replaced:
            self._parser = httptools.HttpResponseParser(self)
            self._replaced = False
        return self._take()

    def feed_eof(self) -> list[Event]:
        """The backend closed; ends a read-until-close body or reports truncation."""
        if not self._in_head and self._framing is Framing.CLOSE:
            self._in_head = True
            self._events.append(END_OF_MESSAGE)
            return self._take()
        if not self._in_head:
            raise HttpError("connection closed in the middle of a response body")
        return self._take()


# -- serialising ---------------------------------------------------------------


def _connection_tokens(headers: Headers, names: Sequence[bytes] | None = None) -> set[bytes]:
    tokens: set[bytes] = set()
    for value in _header_values(headers, b"connection", names):
        tokens.update(t.strip().lower() for t in value.split(b",") if t.strip())
    return tokens


def forwardable_headers(
    headers: Headers,
    *,
    drop: frozenset[bytes] | Iterable[bytes] = (),
    keep_upgrade: bool = False,
    names: Sequence[bytes] | None = None,
) -> list[tuple[bytes, bytes]]:
    """Headers minus hop-by-hop ones, minus those named in Connection and ``drop``.

    ``names`` are the lower-cased header names when the caller has them
    (``Request.names``); they spare lower-casing every name again. A
    ``drop`` given as a frozenset must already be lower-case (the proxy's
    own, built once); any other iterable is lower-cased here.
    """
    if names is None:
        names = [k.lower() for k, _ in headers]
    dropped = drop if isinstance(drop, frozenset) else frozenset(d.lower() for d in drop)
    if not keep_upgrade and HOP_BY_HOP.isdisjoint(names) and dropped.isdisjoint(names):
        return list(headers)  # the usual message: nothing to take out
    excluded = HOP_BY_HOP | dropped
    if b"connection" in names:
        excluded = excluded | _connection_tokens(headers, names)
    if keep_upgrade:
        excluded = excluded - {b"upgrade"}
    kept = [h for h, lname in zip(headers, names, strict=True) if lname not in excluded]
    if keep_upgrade:
        kept.append((b"Connection", b"upgrade"))
    return kept


# A header name is an RFC 9110 token: visible ASCII except the separators that
# matter on the wire here (colon; space, CR, LF and tab are outside the range).
_TOKEN = re.compile(rb"[\x21-\x39\x3b-\x7e]+")
_LINE_BREAK = re.compile(rb"[\r\n]")
_TARGET = re.compile(rb"[\x21-\x7e\x80-\xff]+")


def _check_token(value: bytes, what: str) -> None:
    if _TOKEN.fullmatch(value) is None:
        raise HttpError(f"invalid {what}: {value!r}")


# Header names joined by colons (never part of a token): one match checks them all.
_TOKENS = re.compile(rb"[\x21-\x39\x3b-\x7e]+(?::[\x21-\x39\x3b-\x7e]+)*")


def _head(first_line: bytes, headers: Iterable[tuple[bytes, bytes]]) -> bytes:
    headers = list(headers)  # walked three times below; the callers' lists are short
    if headers:
        # Checked all at once rather than header by header: every name a
        # token, and no line break anywhere in the values.
        names, values = zip(*headers, strict=True)
        joined = b":".join(names)
        if _TOKENS.fullmatch(joined) is None or joined.count(b":") != len(headers) - 1:
            bad = next(name for name in names if _TOKEN.fullmatch(name) is None)
            raise HttpError(f"invalid header name: {bad!r}")
        all_values = b"".join(values)
        if b"\r" in all_values or b"\n" in all_values:
            bad = next(name for name, value in headers if _LINE_BREAK.search(value) is not None)
            raise HttpError(f"header {bad!r} value contains a line break")
    return b"\r\n".join([first_line, *map(b": ".join, headers), b"\r\n"])


def serialize_request_head(method: str, target: str, headers: Iterable[tuple[bytes, bytes]]) -> bytes:
    method_b = method.encode("ascii")
    _check_token(method_b, "method")
    tgt = target.encode("latin-1")
    if _TARGET.fullmatch(tgt) is None:
        raise HttpError(f"invalid request target: {target!r}")
    return _head(method_b + b" " + tgt + b" HTTP/1.1", headers)


def serialize_response_head(status: int, reason: str, headers: Iterable[tuple[bytes, bytes]]) -> bytes:
    if not 100 <= status <= 999:
        raise HttpError(f"invalid status code {status}")
    reason_b = reason.encode("latin-1").replace(b"\r", b"").replace(b"\n", b"")
    return _head(b"HTTP/1.1 %d %s" % (status, reason_b), headers)


def encode_chunk(data: bytes) -> bytes:
    if not data:
        return b""  # an empty chunk would end the body
    return b"%x\r\n%s\r\n" % (len(data), data)


LAST_CHUNK = b"0\r\n\r\n"


def simple_response(
    status: int,
    reason: str,
    body: bytes = b"",
    *,
    extra: Iterable[tuple[bytes, bytes]] = (),
    close: bool = False,
) -> bytes:
    """A complete response generated by the proxy itself (errors, admin pages)."""
    headers = [(b"Content-Length", str(len(body)).encode()), *extra]
    if close:
        headers.append((b"Connection", b"close"))
    return serialize_response_head(status, reason, headers) + body
