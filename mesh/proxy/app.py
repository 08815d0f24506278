"""The running proxy: listeners, identity, routing, admin, shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import http
import logging
import socket
import ssl
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

from .authz import InboundAuthorizer
from .breaker import BreakerConfig
from .detect import (
    MAX_CLIENT_HELLO,
    PEEK_BYTES,
    Protocol,
    client_hello_sni,
    detect,
)
from .errors import NoEndpoints, ProxyError, TransportHeaderError, UpstreamError
from .http1 import Request
from .http_server import (
    PROXY_ERROR_HEADER,
    DownstreamConnection,
    OutgoingResponse,
    RequestBody,
    ServeOptions,
    error_response,
    serve_http1,
)
from .identity import IdentityMaterial, IdentitySource, TlsContexts, peer_identity
from .metrics import Labels, MetricsStore, exposition, traffic_labels
from .netio import ByteCount, close_writer, open_accepted, peek, tunnel
from .origdst import original_destination
from .outbound import OutboundRouter, ServiceState
from .resolver import Resolver
from .services import Endpoint, format_address
from .settings import ProxySettings
from .trace_export import TraceExporter
from .tracing import SPAN_KIND_CLIENT, SPAN_KIND_SERVER, Tracer
from .transport_header import MAX_LEN as PREFACE_MAX
from .transport_header import decode as decode_preface
from .upstream import ConnectionPool, DialTarget, UpstreamConnection

log = logging.getLogger(__name__)


def _peer_ip(sock: socket.socket) -> str | None:
    try:
        return str(sock.getpeername()[0])
    except OSError:
        return None


@dataclass(slots=True)
class _Tracked:
    task: asyncio.Task[None] | None = None
    conn: DownstreamConnection | None = None


class ProxyApp:
    def __init__(
        self,
        settings: ProxySettings,
        identity: IdentitySource,
        resolver: Resolver,
        *,
        breaker_config: BreakerConfig | None = None,
    ) -> None:
        self.settings = settings
        self.identity = identity
        self.resolver = resolver
        self.metrics = MetricsStore()
        self.tls: TlsContexts | None = None
        self.draining = False
        self._listeners: dict[str, socket.socket] = {}
        self._accepters: list[asyncio.Task[None]] = []
        self._conns: dict[asyncio.Task[None], _Tracked] = {}
        self._stopped = asyncio.Event()
        self._unsubscribe = identity.subscribe(self._on_identity)
        current = identity.current()
        if current is not None:
            self._on_identity(current)
        self.out_pool = ConnectionPool(
            client_tls=lambda: self.tls.client if self.tls else None,
            on_open=lambda c: self._upstream_opened("outbound", c),
            on_close=lambda c: self._upstream_closed("outbound", c),
            on_tls_failure=lambda t, r: self._tls_failure("outbound", r),
            idle_timeout=settings.timeouts.idle,
        )
        self.in_pool = ConnectionPool(
            client_tls=lambda: None,
            on_open=lambda c: self._upstream_opened("inbound", c),
            on_close=lambda c: self._upstream_closed("inbound", c),
            on_tls_failure=lambda t, r: self._tls_failure("inbound", r),
            idle_timeout=settings.timeouts.idle,
        )
        # Spans only when a collector is configured; otherwise the request path never looks at trace headers.
        self.tracers: tuple[Tracer, Tracer] | None = None
        self._exporter: TraceExporter | None = None
        self._export_task: asyncio.Task[None] | None = None
        if settings.trace_collector is not None:
            self.tracers = (Tracer(SPAN_KIND_CLIENT), Tracer(SPAN_KIND_SERVER))
            self._exporter = TraceExporter(self.tracers, settings.trace_collector, self._resource, self.metrics)
        self.outbound = OutboundRouter(
            resolver,
            self.out_pool,
            self.metrics,
            default_timeouts=settings.timeouts,
            breaker_config=breaker_config,
            resolve_wait=settings.resolve_timeout,
            tracer=self.tracers[0] if self.tracers else None,
        )
        self.inbound = OutboundRouter(
            resolver,
            self.in_pool,
            self.metrics,
            default_timeouts=settings.timeouts,
            tracer=self.tracers[1] if self.tracers else None,
        )
        self.authz = InboundAuthorizer(settings.default_inbound_policy, settings.cluster_networks)
        self.serve_options = ServeOptions(idle_timeout=settings.timeouts.idle, head_timeout=settings.head_timeout)
        self.metrics.add_gauge(
            "identity_cert_expiration_timestamp_seconds",
            "Time when this proxy's current certificate expires.",
            self._expiry_gauge,
        )
        self.metrics.add_gauge(
            "outbound_balancer_endpoints", "Endpoints per destination by state.", self._endpoint_gauge
        )
        self.metrics.add_gauge(
            "outbound_endpoint_latency_ewma_ms", "Peak-EWMA latency estimate per endpoint.", self._latency_gauge
        )
        self.metrics.add_gauge(
            "outbound_endpoint_pending_requests", "Requests in flight per endpoint.", self._pending_gauge
        )
        self.metrics.add_gauge(
            "outbound_endpoint_breaker_state",
            "Circuit breaker state per endpoint (1 for the current state).",
            self._breaker_gauge,
        )

    def _resource(self) -> list[tuple[str, str]]:
        """What a trace view shows as the span's origin: the workload's identity, pod and mode."""
        s = self.settings
        name = self.identity_name or s.identity_name or "meshfleet-proxy"
        resource = [("service.name", name), ("meshfleet.proxy.mode", s.mode)]
        if s.pod_name:
            resource.append(("k8s.pod.name", s.pod_name))
        if s.pod_namespace:
            resource.append(("k8s.namespace.name", s.pod_namespace))
        return resource

    # -- identity --------------------------------------------------------------
    def _on_identity(self, material: IdentityMaterial) -> None:
        try:
            self.tls = TlsContexts(material)
            log.info("certificate loaded for %s", material.name)
        except ProxyError as e:
            log.error("new certificate material refused: %s", e)

    @property
    def identity_name(self) -> str | None:
        return self.tls.material.name if self.tls else None

    @property
    def ready(self) -> bool:
        return self.tls is not None

    # -- gauges ------------------------------------------------------------------
    def _expiry_gauge(self) -> Iterable[tuple[Labels, float]]:
        if self.tls is not None and self.tls.material.not_after is not None:
            yield (), self.tls.material.not_after

    def _endpoint_gauge(self) -> Iterable[tuple[Labels, float]]:
        now = time.monotonic()
        for target, state in self.outbound.services.items():
            if state.resolution is None:
                continue
            ejected = sum(1 for b in state.breakers.values() if not b.available(now))
            yield (("authority", target), ("endpoint_state", "ready")), len(state.breakers) - ejected
            yield (("authority", target), ("endpoint_state", "ejected")), ejected

    def _latency_gauge(self) -> Iterable[tuple[Labels, float]]:
        for target, state in self.outbound.services.items():
            for ep, (rtt, _pending) in state.balancer.snapshot().items():
                yield (("authority", target), ("target_addr", ep.address)), rtt * 1000

    def _pending_gauge(self) -> Iterable[tuple[Labels, float]]:
        for target, state in self.outbound.services.items():
            for ep, (_rtt, pending) in state.balancer.snapshot().items():
                yield (("authority", target), ("target_addr", ep.address)), pending

    def _breaker_gauge(self) -> Iterable[tuple[Labels, float]]:
        for target, state in self.outbound.services.items():
            for ep, breaker in state.breakers.items():
                yield (("authority", target), ("target_addr", ep.address), ("state", breaker.state.value)), 1

    # -- connection metrics ----------------------------------------------------------
    def _conn_labels(self, direction: str, peer: str, identity: str | None, reason: str, target: str = "") -> Labels:
        return traffic_labels(
            direction=direction,
            target_addr=target,
            peer_identity=identity,
            no_tls_reason=reason,
            extra=(("peer", peer),),
        )

    def _upstream_labels(self, direction: str, conn: UpstreamConnection) -> Labels:
        return self._conn_labels(
            direction,
            "dst",
            conn.peer_identity,
            "not_provided_by_service_discovery" if direction == "outbound" else "loopback",
            format_address(conn.target.host, conn.target.port),
        )

    def _upstream_opened(self, direction: str, conn: UpstreamConnection) -> None:
        conn.metrics_token = self.metrics.tcp_opened(self._upstream_labels(direction, conn), conn.count)

    def _upstream_closed(self, direction: str, conn: UpstreamConnection) -> None:
        self.metrics.tcp_closed(conn.metrics_token)

    def _tls_failure(self, direction: str, reason: str) -> None:
        self.metrics.count("tls_handshake_errors", (("direction", direction), ("reason", reason)))

    # -- listeners -----------------------------------------------------------------
    @staticmethod
    def _bind(addr: tuple[str, int]) -> socket.socket:
        family = socket.AF_INET6 if ":" in addr[0] else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(addr)
        sock.listen(1024)
        sock.setblocking(False)
        return sock

    async def start(self) -> None:
        s = self.settings
        listeners = [
            ("inbound", s.inbound_addr, self._accept_inbound),
            ("outbound", s.outbound_addr, self._accept_outbound),
            ("admin", s.admin_addr, self._accept_admin),
        ]
        if s.mode == "gateway":
            # A gateway only receives traffic from other clusters' proxies; nothing local dials out through it.
            listeners = [entry for entry in listeners if entry[0] != "outbound"]
        for name, addr, handler in listeners:
            try:
                sock = self._bind(addr)
            except OSError as e:
                await self._close_listeners()
                raise ProxyError(f"cannot listen on {format_address(*addr)} ({name}): {e.strerror}") from e
            self._listeners[name] = sock
            self._accepters.append(asyncio.ensure_future(self._accept_loop(sock, handler)))
        if self._exporter is not None:
            self._export_task = asyncio.create_task(self._exporter.run(), name="trace-export")

    def address(self, name: str) -> tuple[str, int]:
        host, port = self._listeners[name].getsockname()[:2]
        return str(host), int(port)

    async def _accept_loop(
        self, lsock: socket.socket, handler: Callable[[socket.socket, _Tracked], Awaitable[None]]
    ) -> None:
        loop = asyncio.get_running_loop()
        while True:
            try:
                sock, _ = await loop.sock_accept(lsock)
            except OSError as e:
                log.warning("accept failed: %s", e)
                await asyncio.sleep(0.1)
                continue
            sock.setblocking(False)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            tracked = _Tracked()
            task = asyncio.ensure_future(self._run_conn(handler, sock, tracked))
            tracked.task = task
            self._conns[task] = tracked
            task.add_done_callback(self._conns.pop)

    @staticmethod
    async def _run_conn(
        handler: Callable[[socket.socket, _Tracked], Awaitable[None]], sock: socket.socket, tracked: _Tracked
    ) -> None:
        try:
            await handler(sock, tracked)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("connection handler failed")
        finally:
            with contextlib.suppress(OSError):
                sock.close()

    async def _serve(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        count: ByteCount,
        tracked: _Tracked,
        handler: Callable[[Request, RequestBody], Awaitable[OutgoingResponse]],
        direction: str,
    ) -> None:
        conn = DownstreamConnection(reader, writer, count, self.serve_options)
        tracked.conn = conn
        await serve_http1(
            conn,
            handler,
            draining=lambda: self.draining,
            on_bad_request=lambda e: self.metrics.count("http_bad_requests", (("direction", direction),)),
        )

    async def _detect(self, sock: socket.socket) -> tuple[Protocol, bytes]:
        def enough(data: bytes) -> bool:
            proto = detect(data)
            if proto is Protocol.TLS:
                return client_hello_sni(data)[0]
            return proto is not Protocol.NEED_MORE

        first = await peek(sock, MAX_CLIENT_HELLO, self.settings.detect_timeout, enough)
        proto = detect(first[:PEEK_BYTES] if first[:1] != b"\x16" else first)
        return (Protocol.OPAQUE if proto is Protocol.NEED_MORE else proto), first

    # -- inbound -----------------------------------------------------------------
    async def _accept_inbound(self, sock: socket.socket, tracked: _Tracked) -> None:
        orig = original_destination(sock)
        proto, first = await self._detect(sock)
        if not first:
            return
        name = self.identity_name
        if proto is Protocol.TLS and self.tls is not None and client_hello_sni(first)[1] == name:
            await self._inbound_mtls(sock, tracked, self.tls.server)
            return
        port = orig[1] if orig else None
        if port == self.address("inbound")[1]:
            port = None  # addressed to the proxy itself, not redirected: never loop back into ourselves
        if port is None:
            # Dialled straight at the proxy: there is no application port to hand this to.
            verdict = self.authz.connection(self.address("inbound")[1], None, _peer_ip(sock))
            reason = "no_original_destination" if verdict.allowed else verdict.decision.reason
            self.metrics.count("inbound_connections_refused", (("reason", reason),))
            if proto is Protocol.HTTP1:
                await self._refuse_http(sock, reason)
            return
        protocol = "http1" if proto is Protocol.HTTP1 else "opaque"
        if not self._admit_connection(port, None, _peer_ip(sock), protocol):
            return
        reader, writer = await open_accepted(sock, None, self.settings.timeouts.connect)
        await self._inbound_stream(reader, writer, tracked, None, port, protocol, _peer_ip(sock))

    async def _refuse_http(self, sock: socket.socket, reason: str) -> None:
        _reader, writer = await open_accepted(sock, None, self.settings.timeouts.connect)
        body = b"connection refused by the inbound policy\n"
        writer.write(
            b"HTTP/1.1 403 Forbidden\r\nContent-Length: %d\r\nConnection: close\r\n%s: %s\r\n\r\n%s"
            % (len(body), PROXY_ERROR_HEADER, reason.encode(), body)
        )
        with contextlib.suppress(ConnectionError, OSError):
            await writer.drain()
        await close_writer(writer)

    def _admit_connection(self, port: int, client_id: str | None, peer_ip: str | None, protocol: str) -> bool:
        """Opaque connections are judged here; HTTP is judged per request so a refusal can be a 403."""
        if protocol == "http1":
            return True
        verdict = self.authz.connection(port, client_id, peer_ip)
        self.metrics.count("inbound_tcp_authz_allow" if verdict.allowed else "inbound_tcp_authz_deny", verdict.labels())
        if not verdict.allowed:
            self.metrics.count("inbound_connections_refused", (("reason", verdict.decision.reason),))
            d = verdict.decision
            log.info("inbound connection to port %d refused: %s (%s)", port, d.reason, d.rule)
        return verdict.allowed

    async def _inbound_mtls(self, sock: socket.socket, tracked: _Tracked, ctx: ssl.SSLContext) -> None:
        try:
            reader, writer = await open_accepted(sock, ctx, self.settings.timeouts.connect)
        except (ssl.SSLError, OSError, TimeoutError, ConnectionError) as e:
            reason = "untrusted" if isinstance(e, ssl.SSLCertVerificationError) else "handshake"
            self._tls_failure("inbound", reason)
            log.info("inbound TLS handshake refused: %s", e.__class__.__name__)
            return
        client_id = peer_identity(writer.get_extra_info("ssl_object"))
        if client_id is None:
            self._tls_failure("inbound", "no_client_identity")
            await close_writer(writer)
            return
        try:
            line = await asyncio.wait_for(reader.readuntil(b"\r\n"), self.settings.timeouts.connect)
            decoded = decode_preface(line)
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError, TransportHeaderError) as e:
            self.metrics.count("inbound_connections_refused", (("reason", "bad_preface"),))
            log.info("inbound mTLS connection without a valid preface: %s", e.__class__.__name__)
            await close_writer(writer)
            return
        if decoded is None or len(line) > PREFACE_MAX:
            await close_writer(writer)
            return
        header, _ = decoded
        peer = writer.get_extra_info("peername")
        peer_ip = str(peer[0]) if peer else None
        if header.name or self.settings.mode == "gateway":
            # Only a gateway forwards to a named service, and a gateway has nothing else to offer.
            if self.settings.mode != "gateway" or not header.name:
                reason = "not_a_gateway" if header.name else "no_gateway_target"
                self.metrics.count("inbound_connections_refused", (("reason", reason),))
                await close_writer(writer)
                return
            if not self._admit_connection(header.port, client_id, peer_ip, "opaque"):
                await close_writer(writer)
                return
            await self._gateway_stream(reader, writer, tracked, client_id, header.protocol, header.name)
            return
        if not self._admit_connection(header.port, client_id, peer_ip, header.protocol):
            await close_writer(writer)
            return
        await self._inbound_stream(reader, writer, tracked, client_id, header.port, header.protocol, peer_ip)

    async def _inbound_stream(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        tracked: _Tracked,
        client_id: str | None,
        port: int,
        protocol: str,
        peer_ip: str | None,
    ) -> None:
        count = ByteCount()
        conn_labels = self._conn_labels("inbound", "src", client_id, "not_provided_by_remote")
        token = self.metrics.tcp_opened(conn_labels, count)
        app_host = self.settings.inbound_app_host
        try:
            if protocol == "http1":

                target_addr = format_address(app_host, port)
                # Labels per authority seen on this connection: a client rarely uses more than one.
                labels_by_host: dict[bytes | None, Labels] = {}

                async def handle(request: Request, body: RequestBody) -> OutgoingResponse:
                    started = time.monotonic()
                    host = request.header(b"host")
                    labels = labels_by_host.get(host)
                    if labels is None:
                        if len(labels_by_host) > 64:
                            labels_by_host.clear()
                        labels = labels_by_host[host] = traffic_labels(
                            direction="inbound",
                            authority=(host or b"").decode("latin-1"),
                            target_addr=target_addr,
                            peer_identity=client_id,
                            no_tls_reason="not_provided_by_remote",
                        )
                    verdict = self.authz.request(port, client_id, peer_ip, request)
                    self.metrics.count(
                        "inbound_http_authz_allow" if verdict.allowed else "inbound_http_authz_deny", verdict.labels()
                    )
                    if not verdict.allowed:
                        await body.drain()
                        self.metrics.request(labels)
                        self.metrics.response(labels, 403, 0.0, failed=True)
                        return error_response(403, "Forbidden", verdict.decision.reason)
                    try:
                        return await self.inbound.forward_local(request, body, app_host, port, labels)
                    except UpstreamError as e:
                        return self._failed(labels, e, started)

                await self._serve(reader, writer, count, tracked, handle, "inbound")
            else:
                await self._opaque_to(reader, writer, count, DialTarget(app_host, port, None), self.in_pool, "inbound")
        finally:
            self.metrics.tcp_closed(token)

    async def _gateway_stream(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        tracked: _Tracked,
        client_id: str | None,
        protocol: str,
        target: str,
    ) -> None:
        """Another cluster's proxy, through this gateway, to ``target`` in this cluster: mTLS again on the way out."""
        count = ByteCount()
        token = self.metrics.tcp_opened(self._conn_labels("inbound", "src", client_id, "not_provided_by_remote"), count)
        try:
            if protocol == "http1":

                async def handle(request: Request, body: RequestBody) -> OutgoingResponse:
                    started = time.monotonic()
                    try:
                        return await self.outbound.forward_named(request, body, target)
                    except UpstreamError as e:
                        labels = self.outbound.labels(self.outbound.services.get(target), target, None, None)
                        return self._failed(labels, e, started)

                await self._serve(reader, writer, count, tracked, handle, "inbound")
                return
            state = await self.outbound.resolve_named(target)
            try:
                if state is None:
                    raise NoEndpoints(target)
                ep = state.pick()
            except UpstreamError:
                log.info("gateway: no endpoint for %s; connection closed", target)
                await close_writer(writer)
                return
            dial = DialTarget(ep.host, ep.proxy_port or ep.port, ep.identity, ep.port, "opaque", ep.remote or "")
            await self._opaque_to(reader, writer, count, dial, self.out_pool, "outbound", state, ep)
        finally:
            self.metrics.tcp_closed(token)

    def _failed(self, labels: Labels, e: UpstreamError, started: float) -> OutgoingResponse:
        """Count a request the proxy answered itself, and the answer."""
        self.metrics.request(labels)
        self.metrics.response(labels, e.status, (time.monotonic() - started) * 1000, failed=True)
        detail = e.reason if e.detail == e.reason else f"{e.reason}: {e.detail}"
        return error_response(e.status, http.HTTPStatus(e.status).phrase, detail)

    async def _opaque_to(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        count: ByteCount,
        target: DialTarget,
        pool: ConnectionPool,
        direction: str,
        balanced: ServiceState | None = None,
        endpoint: Endpoint | None = None,
    ) -> None:
        """Tunnel to ``target``; when it was picked from ``balanced``, the dial's outcome feeds its breaker."""
        try:
            upstream = await pool.dial(target, self.settings.timeouts.connect)
        except UpstreamError as e:
            log.info("%s opaque connection to %s:%d failed: %s", direction, target.host, target.port, e.detail)
            if balanced is not None and endpoint is not None:
                balanced.record(endpoint, failed=True)
            await close_writer(writer)
            return
        except BaseException:
            if balanced is not None and endpoint is not None:
                balanced.abandon(endpoint)
            raise
        if balanced is not None and endpoint is not None:
            balanced.record(endpoint, failed=False)
        try:
            await tunnel(
                (reader, writer),
                (upstream.reader, upstream.writer),
                idle_timeout=self.settings.timeouts.idle,
                a_count=count,
                b_count=upstream.count,
            )
        finally:
            await upstream.close()

    # -- outbound --------------------------------------------------------------------
    async def _accept_outbound(self, sock: socket.socket, tracked: _Tracked) -> None:
        orig = original_destination(sock)
        if orig is not None and orig[1] in self.settings.opaque_ports:
            proto = Protocol.OPAQUE
        else:
            proto, first = await self._detect(sock)
            if not first:
                return
        reader, writer = await open_accepted(sock, None, self.settings.timeouts.connect)
        count = ByteCount()
        token = self.metrics.tcp_opened(self._conn_labels("outbound", "src", None, "loopback"), count)
        try:
            if proto is Protocol.HTTP1:

                async def handle(request: Request, body: RequestBody) -> OutgoingResponse:
                    started = time.monotonic()
                    try:
                        return await self.outbound.handle(request, body, orig)
                    except UpstreamError as e:
                        # Labels are worked out only for a failure: a success is counted by the router.
                        authority = (request.header(b"host") or b"").decode("latin-1")
                        labels = self.outbound.labels(self.outbound.route(request, orig), authority, None, None)
                        return self._failed(labels, e, started)

                await self._serve(reader, writer, count, tracked, handle, "outbound")
            else:
                await self._outbound_opaque(reader, writer, count, orig)
        finally:
            self.metrics.tcp_closed(token)

    async def _outbound_opaque(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        count: ByteCount,
        orig: tuple[str, int] | None,
    ) -> None:
        if orig is None:
            await close_writer(writer)
            return
        state = self.outbound.service(format_address(*orig))
        if state.resolution is None:
            target = DialTarget(orig[0], orig[1], None)
        else:
            try:
                ep = state.pick()
            except UpstreamError:
                await close_writer(writer)
                return
            target = DialTarget(ep.host, ep.proxy_port or ep.port, ep.identity, ep.port, "opaque", ep.remote or "")
            await self._opaque_to(reader, writer, count, target, self.out_pool, "outbound", state, ep)
            return
        await self._opaque_to(reader, writer, count, target, self.out_pool, "outbound")

    # -- admin -------------------------------------------------------------------------
    async def _accept_admin(self, sock: socket.socket, tracked: _Tracked) -> None:
        peer_host = sock.getpeername()[0]
        reader, writer = await open_accepted(sock, None, 1.0)

        async def handle(request: Request, body: RequestBody) -> OutgoingResponse:
            await body.drain()
            return self._admin(request, str(peer_host))

        await self._serve(reader, writer, ByteCount(), tracked, handle, "admin")

    def _admin(self, request: Request, peer_host: str) -> OutgoingResponse:
        path = request.target.split("?", 1)[0]
        text = [(b"Content-Type", b"text/plain; charset=utf-8")]
        if path == "/metrics" and request.method in ("GET", "HEAD"):
            return OutgoingResponse(
                200,
                "OK",
                [(b"Content-Type", b"text/plain; version=0.0.4; charset=utf-8")],
                body=exposition(self.metrics),
            )
        if path == "/live":
            return OutgoingResponse(200, "OK", text, body=b"live\n")
        if path == "/ready":
            if self.ready and not self.draining:
                return OutgoingResponse(200, "OK", text, body=b"ready\n")
            return OutgoingResponse(503, "Service Unavailable", text, body=b"not ready\n")
        if path == "/shutdown":
            if request.method != "POST":
                return OutgoingResponse(405, "Method Not Allowed", [(b"Allow", b"POST"), *text], body=b"use POST\n")
            if peer_host not in ("127.0.0.1", "::1"):
                return OutgoingResponse(403, "Forbidden", text, body=b"shutdown only from localhost\n")
            asyncio.get_running_loop().call_soon(lambda: asyncio.ensure_future(self.shutdown()))
            return OutgoingResponse(202, "Accepted", text, body=b"shutting down\n", close=True)
        return OutgoingResponse(404, "Not Found", text, body=b"not found\n")

    # -- lifecycle ---------------------------------------------------------------------
    async def _close_listeners(self) -> None:
        for task in self._accepters:
            task.cancel()
        await asyncio.gather(*self._accepters, return_exceptions=True)
        self._accepters.clear()
        for sock in self._listeners.values():
            sock.close()

    async def shutdown(self, grace: float | None = None) -> None:
        """Stop accepting, let in-flight requests finish within the grace period, then stop."""
        if self.draining:
            await self._stopped.wait()
            return
        self.draining = True
        grace = self.settings.shutdown_grace if grace is None else grace
        await self._close_listeners()
        deadline = time.monotonic() + grace
        me = asyncio.current_task()
        while time.monotonic() < deadline:
            pending = [t for t in self._conns if t is not me]
            if not pending:
                break
            for tracked in list(self._conns.values()):
                conn = tracked.conn
                # Idle keep-alive connections have nothing in flight; close them now.
                if conn is not None and conn.idle and tracked.task is not None and tracked.task is not me:
                    tracked.task.cancel()
            await asyncio.sleep(0.05)
        leftovers = [t for t in self._conns if t is not me]
        for task in leftovers:
            task.cancel()
        await asyncio.gather(*leftovers, return_exceptions=True)
        await self.out_pool.close_all()
        await self.in_pool.close_all()
        if self._exporter is not None:
            await self._exporter.stop(self._export_task)  # the spans of the last requests still leave
        self._unsubscribe()
        self._stopped.set()

    async def wait_stopped(self) -> None:
        await self._stopped.wait()
