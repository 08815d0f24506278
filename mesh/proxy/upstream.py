"""Connections from the proxy to backends and peer proxies, and their pool.

Connections to a peer proxy are mTLS, start with the transport header, and
are kept open and reused: a TLS handshake per request would cost more than
the request. One request is in flight per connection (HTTP/1.1 without
pipelining); more concurrency means more pooled connections.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
import time
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field

from .errors import ConnectFailed, HttpError, PeerIdentityRefused, UpstreamProtocolError
from .http1 import Data, EndOfMessage, Event, Framing, Response, ResponseReader, Upgraded
from .http_server import BodyStream
from .identity import peer_identity
from .netio import ByteCount, ReadDeadline, close_writer
from .transport_header import TransportHeader

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class DialTarget:
    host: str
    port: int  # where to connect
    identity: str | None  # expected peer identity; None means plaintext
    announce_port: int = 0  # the port named in the transport header (mTLS only)
    protocol: str = "http1"
    remote: str = ""  # for a gateway: the service it forwards to, named in the transport header
    # The pool looks targets up on every request: hash the fields once.
    _hash: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        fields = (self.host, self.port, self.identity, self.announce_port, self.protocol, self.remote)
        object.__setattr__(self, "_hash", hash(fields))

    def __hash__(self) -> int:
        return self._hash


class UpstreamConnection:
    def __init__(
        self,
        target: DialTarget,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        on_close: Callable[[UpstreamConnection], None],
    ) -> None:
        self.target = target
        self.reader = reader
        self.writer = writer
        self.count = ByteCount()
        self.peer_identity = peer_identity(writer.get_extra_info("ssl_object"))
        self.parser = ResponseReader()
        self._deadline = ReadDeadline(reader, "upstream")
        self._events: list[Event] = []
        self.reused = False
        self.last_used = time.monotonic()
        self.broken = False
        self.saw_response_bytes = False
        self._on_close = on_close
        self._closed = False
        self.metrics_token = 0
        # Set by the pool for connections counted against its per-target limit;
        # called once, when the connection stops being available to requests.
        self.free_slot: Callable[[], None] | None = None

    def _give_up_slot(self) -> None:
        free, self.free_slot = self.free_slot, None
        if free is not None:
            free()

    @property
    def reusable(self) -> bool:
        return not self.broken and not self._closed and self.parser.reusable and not self.reader.at_eof()

    def write(self, data: bytes) -> None:
        self.count.written += len(data)
        self.writer.write(data)

    async def drain(self) -> None:
        """Wait for the peer to take what was written, only if some of it is still buffered."""
        if self.writer.transport.get_write_buffer_size():
            await self.writer.drain()

    async def _next_event(self, wait: float | None) -> Event:
        while not self._events:
            if wait is None:
                data = await self.reader.read(65536)  # the caller's request timeout bounds the wait
            else:
                self._deadline.set_in(wait)
                try:
                    data = await self.reader.read(65536)
                except TimeoutError:
                    self.broken = True
                    raise
                finally:
                    self._deadline.clear()
            if data:
                self.saw_response_bytes = True
                self.count.read += len(data)
                try:
                    self._events.extend(self.parser.feed(data))
                except HttpError as e:
                    self.broken = True
                    raise UpstreamProtocolError(str(e)) from e
            else:
                self.broken = True
                try:
                    self._events.extend(self.parser.feed_eof())
                except HttpError as e:
                    raise UpstreamProtocolError("backend closed mid-response") from e
                if not self._events:
                    raise ConnectionResetError("backend closed the connection")
        return self._events.pop(0)

    async def read_head(self, method: str, wait: float | None) -> Response:
        """The final response head (interim 1xx other than 101 are dropped)."""
        self.parser.expect(method)
        while True:
            event = await self._next_event(wait)
            if isinstance(event, Response):
                if 100 <= event.status < 200 and event.status != 101:
                    end = await self._next_event(wait)
                    if not isinstance(end, EndOfMessage):
                        raise UpstreamProtocolError("interim response carried a body")
                    continue
                if not event.keep_alive:
                    self.broken = True  # usable for this response only
                return event
            raise UpstreamProtocolError(f"expected a response head, got {type(event).__name__}")

    def body(self, idle_timeout: float) -> ResponseBody:
        """The body of the response just read by ``read_head``."""
        return ResponseBody(self, idle_timeout)

    def take_parsed_body(self) -> tuple[bytes, bool]:
        """Body bytes already parsed (no waiting), and whether the body ended with them."""
        events = self._events
        if not events:
            return b"", False
        pieces: list[bytes] = []
        ended = False
        while events:
            event = events[0]
            if isinstance(event, Data):
                pieces.append(event.data)
            elif isinstance(event, EndOfMessage):
                ended = True
                del events[0]
                break
            else:
                break  # left for the iterator to report
            del events[0]
        return b"".join(pieces), ended

    def take_upgrade_trailing(self) -> bytes:
        """After a 101: bytes the backend already sent into the tunnel (parsed with the head)."""
        self.broken = True  # the connection now belongs to the tunnel
        self._give_up_slot()  # a long-lived tunnel must not hold back requests waiting for the pool
        trailing = b"".join(e.trailing for e in self._events if isinstance(e, Upgraded))
        self._events.clear()
        return trailing

    async def discard_body(self, idle_timeout: float, limit: int = 64 * 1024) -> None:
        """Skip a response we will not forward; close instead if it is big."""
        seen = 0
        try:
            async for piece in self.body(idle_timeout):
                seen += len(piece)
                if seen > limit:
                    self.broken = True
                    return
        except (UpstreamProtocolError, ConnectionError, OSError, TimeoutError):
            self.broken = True

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._deadline.cancel()
        self._give_up_slot()
        await close_writer(self.writer)
        self._on_close(self)


class ResponseBody(BodyStream):
    """A response body read from an upstream connection, piece by piece."""

    __slots__ = ("_conn", "_idle_timeout", "_done")

    def __init__(self, conn: UpstreamConnection, idle_timeout: float) -> None:
        self._conn = conn
        self._idle_timeout = idle_timeout
        self._done = False

    def take_ready(self) -> tuple[bytes, bool]:
        if self._done:
            return b"", True
        data, ended = self._conn.take_parsed_body()
        self._done = ended
        return data, ended

    async def __anext__(self) -> bytes:
        if self._done:
            raise StopAsyncIteration
        event = await self._conn._next_event(self._idle_timeout)
        if isinstance(event, Data):
            return event.data
        if isinstance(event, EndOfMessage):
            self._done = True
            raise StopAsyncIteration
        self._done = True
        raise UpstreamProtocolError(f"unexpected {type(event).__name__} in a response body")


class ConnectionPool:
    """Idle connections per dial target, plus the code that dials new ones.

    At most ``max_open_per_target`` connections to one target serve requests
    at a time; a request that finds none idle and the limit reached waits for
    one to be released (or closed, freeing room to dial). That bounds the
    TLS connections, and so the memory, of both proxies when a client opens
    hundreds of connections to an overloaded service: requests queue in the
    proxy, within their request timeout, instead.
    """

    def __init__(
        self,
        *,
        client_tls: Callable[[], ssl.SSLContext | None],
        on_open: Callable[[UpstreamConnection], None],
        on_close: Callable[[UpstreamConnection], None],
        on_tls_failure: Callable[[DialTarget, str], None],
        max_idle_per_target: int = 64,
        max_open_per_target: int = 128,
        idle_timeout: float = 90.0,
    ) -> None:
        self._client_tls = client_tls
        self._on_open = on_open
        self._on_close = on_close
        self._on_tls_failure = on_tls_failure
        self._idle: dict[DialTarget, list[UpstreamConnection]] = defaultdict(list)
        self._max_idle = max_idle_per_target
        self._max_open = max_open_per_target
        self._idle_timeout = idle_timeout
        self._open: dict[DialTarget, int] = {}
        # Requests waiting for a connection: each gets a released connection, or None to dial one.
        self._waiters: dict[DialTarget, deque[asyncio.Future[UpstreamConnection | None]]] = {}

    async def acquire(self, target: DialTarget, connect_timeout: float) -> UpstreamConnection:
        idle = self._idle.get(target)
        now = time.monotonic()
        while idle:
            conn = idle.pop()
            if conn.reusable and now - conn.last_used < self._idle_timeout:
                conn.reused = True
                conn.saw_response_bytes = False
                return conn
            await conn.close()
        if self._open.get(target, 0) >= self._max_open:
            handed = await self._wait_turn(target)
            if handed is not None:
                return handed
        self._open[target] = self._open.get(target, 0) + 1
        try:
            conn = await self.dial(target, connect_timeout)
        except BaseException:
            self._slot_freed(target)
            raise
        conn.free_slot = lambda: self._slot_freed(target)
        return conn

    async def _wait_turn(self, target: DialTarget) -> UpstreamConnection | None:
        """Wait until a connection to ``target`` is handed over, or None once there is room to dial."""
        waiter: asyncio.Future[UpstreamConnection | None] = asyncio.get_running_loop().create_future()
        queue = self._waiters.setdefault(target, deque())
        queue.append(waiter)
        try:
            handed = await waiter
        except asyncio.CancelledError:
            # Our request gave up (its timeout). What was handed to it goes to the next in line.
            if waiter.done() and not waiter.cancelled():
                late = waiter.result()
                if late is not None:
                    self.release(late)
                else:
                    self._slot_freed(target)  # the room reserved for us goes to the next in line
            raise
        finally:
            if waiter in queue:
                queue.remove(waiter)
            if not queue:
                self._waiters.pop(target, None)
        if handed is not None:
            handed.reused = True
            handed.saw_response_bytes = False
        else:
            # Room to dial was handed over; count it again, as the freed slot was ours.
            self._open[target] = self._open.get(target, 0) - 1
        return handed

    def _wake_one(self, target: DialTarget, conn: UpstreamConnection | None) -> bool:
        queue = self._waiters.get(target)
        while queue:
            waiter = queue.popleft()
            if not waiter.done():
                if conn is None:
                    # The freed slot passes to the waiter, which will dial.
                    self._open[target] = self._open.get(target, 0) + 1
                waiter.set_result(conn)
                return True
        return False

    def _slot_freed(self, target: DialTarget) -> None:
        left = self._open.get(target, 0) - 1
        if left > 0:
            self._open[target] = left
        else:
            self._open.pop(target, None)
        self._wake_one(target, None)

    async def dial(self, target: DialTarget, connect_timeout: float) -> UpstreamConnection:
        tls: ssl.SSLContext | None = None
        if target.identity is not None:
            tls = self._client_tls()
            if tls is None:
                raise PeerIdentityRefused("no local certificate yet; cannot open mTLS")
        try:
            async with asyncio.timeout(connect_timeout):
                reader, writer = await asyncio.open_connection(target.host, target.port)
        except TimeoutError as e:
            raise ConnectFailed(f"{target.host}:{target.port}: connect timed out") from e
        except OSError as e:
            raise ConnectFailed(f"{target.host}:{target.port}: {e.strerror or e}") from e
        if tls is not None:
            # TCP first, TLS second: a failure from here on is about the peer's
            # identity or trust, never a mere connect failure.
            try:
                async with asyncio.timeout(connect_timeout):
                    await writer.start_tls(tls, server_hostname=target.identity)
            except ssl.SSLCertVerificationError as e:
                reason = "identity_mismatch" if "hostname" in str(e).lower() else "untrusted"
                self._on_tls_failure(target, reason)
                writer.transport.abort()
                raise PeerIdentityRefused(f"{target.host}:{target.port}: {e.verify_message or reason}") from e
            except (ssl.SSLError, OSError, TimeoutError) as e:
                self._on_tls_failure(target, "handshake")
                writer.transport.abort()
                raise PeerIdentityRefused(f"{target.host}:{target.port}: TLS handshake failed") from e
        conn = UpstreamConnection(target, reader, writer, self._on_close)
        if tls is not None:
            conn.write(TransportHeader(target.protocol, target.announce_port, target.remote).encode())
        self._on_open(conn)
        return conn

    def release(self, conn: UpstreamConnection) -> None:
        """Return a connection whose exchange finished cleanly."""
        conn.last_used = time.monotonic()
        if conn.reusable and self._waiters.get(conn.target) and self._wake_one(conn.target, conn):
            return  # straight to a request waiting for it
        idle = self._idle[conn.target]
        if conn.reusable and len(idle) < self._max_idle:
            idle.append(conn)
        else:
            asyncio.ensure_future(conn.close())

    def discard(self, conn: UpstreamConnection) -> None:
        asyncio.ensure_future(conn.close())

    async def close_all(self) -> None:
        conns = [c for idle in self._idle.values() for c in idle]
        self._idle.clear()
        for conn in conns:
            with contextlib.suppress(Exception):
                await conn.close()

    def idle_count(self, target: DialTarget) -> int:
        return len(self._idle.get(target, ()))

    def open_count(self, target: DialTarget) -> int:
        """Connections to ``target`` serving requests or idle (tunnels not included)."""
        return self._open.get(target, 0)


def request_framing_headers(body_len: int | None, original: Framing) -> list[tuple[bytes, bytes]]:
    """Framing headers for a forwarded request: a length when buffered, chunked when streamed."""
    if body_len is None:
        return [(b"Transfer-Encoding", b"chunked")]
    if body_len == 0 and original is Framing.NONE:
        return []
    return [(b"Content-Length", str(body_len).encode())]
