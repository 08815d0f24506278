"""Outbound HTTP: from the local application to a destination service.

Per destination (``ServiceState``): the resolver subscription, a balancer,
a breaker per endpoint and a retry budget. Per request: buffer a small
body so it can be replayed, pick an endpoint, try, classify, maybe retry,
all inside the route's request timeout.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass

from .backends import Backend, choose_backend, group_backends
from .balancer import Balancer
from .breaker import Breaker, BreakerConfig
from .errors import (
    ConnectFailed,
    NoEndpoints,
    PeerIdentityRefused,
    RequestTimeout,
    UpstreamError,
    UpstreamProtocolError,
)
from .http1 import (
    LAST_CHUNK,
    Framing,
    Request,
    Response,
    encode_chunk,
    forwardable_headers,
    serialize_request_head,
)
from .http_server import OutgoingResponse, RequestBody
from .metrics import Labels, MetricsStore, traffic_labels
from .resolver import Resolver, Subscription
from .retry import MAX_RETRYABLE_BODY, NO_RETRIES, Outcome, RetryBudget, RetryPolicy, classify_status
from .services import Endpoint, Resolution, ServiceConfig, Timeouts, format_address
from .tracing import Tracer
from .upstream import ConnectionPool, DialTarget, UpstreamConnection, request_framing_headers

log = logging.getLogger(__name__)

Clock = Callable[[], float]

# The proxy answers Expect itself (it buffers the body first), so it is not passed on.
_DROP_FROM_REQUESTS = frozenset({b"expect"})


class ServiceState:
    """Everything kept per destination target."""

    def __init__(
        self,
        target: str,
        resolver: Resolver,
        *,
        clock: Clock,
        rng: random.Random,
        breaker_config: BreakerConfig,
        default_timeouts: Timeouts,
    ) -> None:
        self.target = target
        self._clock = clock
        self._rng = rng
        self._breaker_config = breaker_config
        self.balancer: Balancer[Endpoint] = Balancer(clock=clock, rng=rng)
        self.breakers: dict[Endpoint, Breaker] = {}
        self.budget = RetryBudget()
        self.resolution: Resolution | None = None
        self.answered = False  # the resolver has said something (even "unknown") about the target
        self.backends: tuple[Backend, ...] = ()
        self.config = ServiceConfig(name=target, timeouts=default_timeouts)
        self.last_used = clock()
        # Per-service breaker settings, when the resolver knows any (destination: Service annotations).
        self._breaker_for: Callable[[str], BreakerConfig | None] | None = getattr(resolver, "breaker", None)
        self._sub: Subscription = resolver.resolve(target, self._update)

    def _update(self, resolution: Resolution | None) -> None:
        self.resolution = resolution
        self.answered = True
        if resolution is None:
            self.balancer.update([])
            self.breakers = {}
            self.backends = ()
            return
        self.config = resolution.service
        self.backends = group_backends(resolution.endpoints)
        wanted = self._breaker_for(self.target) if self._breaker_for is not None else None
        if wanted is not None and wanted != self._breaker_config:
            self._breaker_config = wanted
            self.breakers = {}
        self.balancer.update((ep, ep.weight) for ep in resolution.endpoints)
        self.breakers = {
            ep: self.breakers.get(ep) or Breaker(self._breaker_config, self._rng) for ep in resolution.endpoints
        }

    def pick(self, avoid: frozenset[Endpoint] = frozenset()) -> Endpoint:
        """An endpoint to try, claiming its breaker's probe if it is recovering.

        A retry passes the endpoints that already failed this request in
        ``avoid``; they are used again only when nothing else is available.
        """
        if not self.breakers:
            raise NoEndpoints(f"{self.target} has no endpoints")
        now = self._clock()
        scope: frozenset[Endpoint] | None = None
        if len(self.backends) > 1:
            # A traffic split: the backend is drawn by weight, the balancer works within it.
            b = choose_backend(
                self.backends, self._rng, lambda ep: ep not in avoid and self.breakers[ep].available(now)
            )
            b = b or choose_backend(self.backends, self._rng, lambda ep: self.breakers[ep].available(now))
            scope = b.endpoints if b is not None else None
        chosen = None
        if avoid:
            chosen = self.balancer.pick(
                lambda ep: (scope is None or ep in scope) and ep not in avoid and self.breakers[ep].available(now)
            )
        if chosen is None:
            chosen = self.balancer.pick(lambda ep: (scope is None or ep in scope) and self.breakers[ep].available(now))
        if chosen is None or not self.breakers[chosen].acquire(now):
            raise NoEndpoints(f"every endpoint of {self.target} is ejected")
        return chosen

    def record(self, ep: Endpoint, failed: bool) -> None:
        breaker = self.breakers.get(ep)
        if breaker is None:
            return
        if failed:
            breaker.record_failure(self._clock())
        else:
            breaker.record_success()

    def abandon(self, ep: Endpoint) -> None:
        """The request to ``ep`` ended without an outcome: a probe it held goes back for the next request."""
        breaker = self.breakers.get(ep)
        if breaker is not None:
            breaker.abandon_probe(self._clock())

    def cancel(self) -> None:
        self._sub.cancel()


@dataclass(frozen=True, slots=True)
class Attempt:
    endpoint: Endpoint
    conn: UpstreamConnection
    response: Response
    started: float


class OutboundRouter:
    def __init__(
        self,
        resolver: Resolver,
        pool: ConnectionPool,
        metrics: MetricsStore,
        *,
        default_timeouts: Timeouts,
        breaker_config: BreakerConfig | None = None,
        clock: Clock = time.monotonic,
        rng: random.Random | None = None,
        resolve_wait: float = 0.0,
        tracer: Tracer | None = None,
    ) -> None:
        self._resolver = resolver
        self._tracer = tracer
        self._pool = pool
        self._metrics = metrics
        self._defaults = default_timeouts
        self._breaker_config = breaker_config or BreakerConfig()
        self._clock = clock
        self._rng = rng or random.Random()
        self.services: dict[str, ServiceState] = {}
        self.resolve_wait = resolve_wait
        # Per-request work that depends on little: remembered, bounded, rebuilt when it goes stale.
        self._candidate_cache: dict[tuple[bytes | None, tuple[str, int] | None], tuple[str, ...]] = {}
        self._label_cache: dict[tuple[str, str | None, Endpoint | None, str], tuple[ServiceConfig | None, Labels]] = {}
        self._local: dict[tuple[str, int], Resolution] = {}
        self._dial_targets: dict[Endpoint, DialTarget] = {}

    MAX_UNRESOLVED = 1000

    def service(self, target: str) -> ServiceState:
        state = self.services.get(target)
        if state is None:
            if len(self.services) >= self.MAX_UNRESOLVED:
                self._evict()
            state = ServiceState(
                target,
                self._resolver,
                clock=self._clock,
                rng=self._rng,
                breaker_config=self._breaker_config,
                default_timeouts=self._defaults,
            )
            self.services[target] = state
        state.last_used = self._clock()
        return state

    def _evict(self) -> None:
        """Forget targets that resolve to nothing and were not asked for in a minute.

        Every distinct Host header creates a subscription; without this a client
        sending random authorities would grow the proxy without bound.
        """
        horizon = self._clock() - 60.0
        for target, state in list(self.services.items()):
            if state.resolution is None and state.last_used < horizon:
                state.cancel()
                del self.services[target]

    def _candidates(self, request: Request, original_dst: tuple[str, int] | None) -> tuple[str, ...]:
        host = request.header(b"host")
        key = (host, original_dst)
        found = self._candidate_cache.get(key)
        if found is None:
            if len(self._candidate_cache) >= self.MAX_UNRESOLVED:
                self._candidate_cache.clear()
            found = self._candidate_cache[key] = self._candidates_of(host, original_dst)
        return found

    @staticmethod
    def _candidates_of(host: bytes | None, original_dst: tuple[str, int] | None) -> tuple[str, ...]:
        candidates: list[str] = []
        if host:
            authority = host.decode("latin-1").strip().lower()
            if ":" not in authority.rsplit("]", 1)[-1]:
                authority += f":{original_dst[1] if original_dst else 80}"
            candidates.append(authority)
        if original_dst is not None:
            candidates.append(format_address(*original_dst))
        return tuple(candidates)

    def route(self, request: Request, original_dst: tuple[str, int] | None) -> ServiceState | None:
        """The destination for ``request``: its authority if known to the resolver, else the original address."""
        for target in self._candidates(request, original_dst):
            state = self.service(target)
            if state.resolution is not None:
                return state
        return None

    async def route_resolved(
        self, request: Request, original_dst: tuple[str, int] | None, limit: float
    ) -> ServiceState | None:
        """``route``, but a target never heard of is given up to ``limit`` seconds to resolve.

        Without this the first request to a new destination would go out
        unresolved (plaintext, unbalanced) while its subscription is in flight.
        """
        state = self.route(request, original_dst)
        if state is not None:
            return state
        states = (self.services.get(t) for t in self._candidates(request, original_dst))
        if not await self._await_answers([s for s in states if s is not None and not s.answered], limit):
            return None
        return self.route(request, original_dst)

    async def _await_answers(self, pending: list[ServiceState], limit: float) -> bool:
        """Give the resolver up to ``limit`` seconds to say something about ``pending``; whether it was asked."""
        wait = getattr(self._resolver, "wait_resolved", None)
        if not pending or wait is None or limit <= 0:
            return False
        try:
            async with asyncio.timeout(limit):
                for s in pending:
                    await wait(s.target)
        except TimeoutError:
            log.info("no answer about %s within %.1fs", pending[0].target, limit)
        return True

    async def resolve_named(self, target: str) -> ServiceState | None:
        """The state of ``target`` (``host:port``), given up to ``resolve_wait`` to resolve; None if unknown."""
        state = self.service(target)
        if state.resolution is None and not state.answered:
            await self._await_answers([state], self.resolve_wait)
        return state if state.resolution is not None else None

    async def forward_named(self, request: Request, body: RequestBody, target: str) -> OutgoingResponse:
        """A gateway's forwarding: to ``target``, named by the peer's transport header, not by the Host header."""
        state = await self.resolve_named(target)
        if state is None:
            await body.drain()
            raise NoEndpoints(f"{target} is not a service this gateway knows")
        assert state.resolution is not None
        return await self._forward(request, body, state, state.resolution, target, time.monotonic(), None)

    def labels(self, state: ServiceState | None, authority: str, server_id: str | None, ep: Endpoint | None) -> Labels:
        config = state.config if state else None
        key = (authority, server_id, ep, state.target if state else "")
        cached = self._label_cache.get(key)
        if cached is not None and cached[0] is config:
            return cached[1]
        if len(self._label_cache) >= self.MAX_UNRESOLVED:
            self._label_cache.clear()
        labels = traffic_labels(
            direction="outbound",
            authority=authority,
            target_addr=ep.address if ep else "",
            peer_identity=server_id,
            no_tls_reason="not_provided_by_service_discovery",
            dst_namespace=config.namespace if config else "",
            dst_service=config.service if config else "",
        )
        self._label_cache[key] = (config, labels)
        return labels

    async def handle(
        self, request: Request, body: RequestBody, original_dst: tuple[str, int] | None
    ) -> OutgoingResponse:
        state = await self.route_resolved(request, original_dst, self.resolve_wait)
        authority = (request.header(b"host") or b"").decode("latin-1")
        started = time.monotonic()
        if state is None:
            if original_dst is None:
                await body.drain()
                raise NoEndpoints(f"no route to {authority or 'an unknown destination'}")
            # Not in the mesh: pass it straight to the address the application dialled.
            host, port = original_dst
            direct = Resolution(
                format_address(host, port),
                ServiceConfig(format_address(host, port), timeouts=self._defaults),
                (Endpoint(host, port),),
            )
            return await self._forward(request, body, None, direct, authority, started, None)
        assert state.resolution is not None
        return await self._forward(request, body, state, state.resolution, authority, started, None)

    async def forward_local(
        self, request: Request, body: RequestBody, host: str, port: int, labels: Labels
    ) -> OutgoingResponse:
        """Inbound: hand a request to the local application, no balancing and no retries."""
        local = self._local.get((host, port))
        if local is None:
            local = self._local[(host, port)] = Resolution(
                format_address(host, port),
                ServiceConfig(format_address(host, port), timeouts=self._defaults),
                (Endpoint(host, port),),
            )
        return await self._forward(request, body, None, local, "", time.monotonic(), labels)

    async def _forward(
        self,
        request: Request,
        body: RequestBody,
        state: ServiceState | None,
        resolution: Resolution,
        authority: str,
        started: float,
        labels: Labels | None,
    ) -> OutgoingResponse:
        """Send ``request`` to ``resolution``: balanced and retried for a known service, else to its one endpoint.

        ``labels`` fixes the metric labels (inbound); otherwise they follow
        the endpoint that answered and its identity.
        """
        config = resolution.service
        timeouts = config.timeouts
        buffered, complete = await body.read_all(MAX_RETRYABLE_BODY)
        head_headers = forwardable_headers(
            request.headers, drop=_DROP_FROM_REQUESTS, keep_upgrade=request.upgrade, names=request.names
        )
        span = self._tracer.begin(request, head_headers) if self._tracer is not None else None
        head_headers.extend(request_framing_headers(len(buffered) if complete else None, request.framing))
        head = serialize_request_head(request.method, request.target, head_headers)
        # One frame, no helper coroutine: this is every request's path. The outer handlers cost
        # nothing until something is raised, and only a traced request has anything to do there.
        try:
            try:
                if state is None:  # one endpoint, one try: nothing to balance, break or retry
                    ep = resolution.endpoints[0]
                    if timeouts.request is None:
                        attempt = await self._try(ep, request, head, buffered, complete, body, timeouts)
                    else:
                        async with asyncio.timeout(timeouts.request):
                            attempt = await self._try(ep, request, head, buffered, complete, body, timeouts)
                else:
                    # Too large to keep a copy: streamed, never replayed.
                    policy = config.retry if complete else NO_RETRIES
                    state.budget.record_request(self._clock())
                    async with asyncio.timeout(timeouts.request):
                        attempt = await self._exchange(
                            state, policy, request, head, buffered, complete, body, timeouts, authority
                        )
            except TimeoutError as e:
                name = authority or (request.header(b"host") or b"").decode("latin-1") or resolution.target
                raise RequestTimeout(f"no response from {name} within {timeouts.request}s") from e
        except UpstreamError as e:
            if span is not None:
                span.end(e.status, labels or (), error=e.reason)
            raise
        except BaseException:
            if span is not None:
                span.end(None, labels or (), error="cancelled")
            raise
        if labels is None:
            labels = self.labels(state, authority, attempt.conn.peer_identity, attempt.endpoint)
        if span is not None:
            span.end(attempt.response.status, labels)
        return self._respond(request, attempt, labels, started, timeouts)

    async def _exchange(
        self,
        state: ServiceState,
        policy: RetryPolicy,
        request: Request,
        head: bytes,
        buffered: bytes,
        complete: bool,
        body: RequestBody,
        timeouts: Timeouts,
        authority: str,
    ) -> Attempt:
        """Tries until one succeeds, the policy stops retrying or the budget is spent."""
        retries = 0
        failed: set[Endpoint] = set()
        while True:
            ep = state.pick(frozenset(failed)) if failed else state.pick()
            attempt_started = self._clock()
            state.balancer.start(ep)
            outcome: Outcome
            attempt: Attempt | None = None
            error: UpstreamError | None = None
            try:
                if policy.per_try_timeout is None:  # no timer to arm: the request timeout bounds the try
                    attempt = await self._try(ep, request, head, buffered, complete, body, timeouts)
                else:
                    async with asyncio.timeout(policy.per_try_timeout):
                        attempt = await self._try(ep, request, head, buffered, complete, body, timeouts)
                outcome = classify_status(attempt.response.status)
            except TimeoutError:
                outcome, error = Outcome.TIMEOUT, RequestTimeout("per-try timeout")
            except (ConnectFailed, PeerIdentityRefused) as e:
                outcome, error = Outcome.CONNECT_FAILURE, e
            except UpstreamError as e:
                outcome, error = Outcome.SERVER_ERROR, e
            except BaseException:
                # Cancelled: the client went away or the request's deadline passed. That says
                # nothing about the endpoint, but a probe it held must not stay claimed forever.
                state.abandon(ep)
                raise
            finally:
                state.balancer.finish(ep, attempt_started)
            succeeded = outcome is Outcome.SUCCESS
            state.record(ep, failed=not succeeded)
            if succeeded:
                assert attempt is not None
                return attempt
            failed.add(ep)
            wants = policy.wants_retry(outcome, retries, body_replayable=complete) and state.budget.try_withdraw(
                self._clock()
            )
            if not wants:
                if attempt is not None:
                    return attempt
                assert error is not None
                raise error
            self._metrics.count("retries", (("authority", authority or state.target),))
            if attempt is not None:
                await attempt.conn.discard_body(timeouts.idle)
                self._finish_conn(attempt.conn, ok=True)
            retries += 1

    async def _try(
        self,
        ep: Endpoint,
        request: Request,
        head: bytes,
        buffered: bytes,
        complete: bool,
        body: RequestBody,
        timeouts: Timeouts,
    ) -> Attempt:
        target = self._dial_targets.get(ep)
        if target is None:
            if len(self._dial_targets) >= self.MAX_UNRESOLVED:
                self._dial_targets.clear()
            target = self._dial_targets[ep] = DialTarget(
                host=ep.host,
                port=ep.proxy_port or ep.port,
                identity=ep.identity,
                announce_port=ep.port,
                protocol="http1",
                remote=ep.remote or "",
            )
        for fresh in (False, True):
            conn = await (
                self._pool.dial(target, timeouts.connect) if fresh else self._pool.acquire(target, timeouts.connect)
            )
            started = self._clock()
            try:
                # Head and buffered body in one write: one system call, one TLS record.
                conn.write(head + buffered if complete else head + encode_chunk(buffered))
                if not complete:
                    async for piece in body.chunks():
                        conn.write(encode_chunk(piece))
                        await conn.drain()
                    conn.write(LAST_CHUNK)
                await conn.drain()
                response = await conn.read_head(request.method, None)
            except (ConnectionError, OSError) as e:
                self._pool.discard(conn)
                if conn.reused and not conn.saw_response_bytes and complete and not fresh:
                    continue  # the peer closed an idle pooled connection; a fresh one is safe
                raise ConnectFailed(f"{ep.address}: connection lost: {e}") from e
            except UpstreamProtocolError:
                self._pool.discard(conn)
                raise
            except BaseException:
                self._pool.discard(conn)
                raise
            return Attempt(ep, conn, response, started)
        raise ConnectFailed(f"{ep.address}: connection lost")  # unreachable in practice

    def _finish_conn(self, conn: UpstreamConnection, ok: bool) -> None:
        if ok and conn.reusable:
            self._pool.release(conn)
        else:
            self._pool.discard(conn)

    def _respond(
        self,
        request: Request,
        attempt: Attempt,
        labels: Labels,
        started: float,
        timeouts: Timeouts,
    ) -> OutgoingResponse:
        resp = attempt.response
        conn = attempt.conn
        self._metrics.request(labels)
        self._metrics.response(labels, resp.status, (time.monotonic() - started) * 1000, failed=resp.status >= 500)
        headers = forwardable_headers(resp.headers, keep_upgrade=resp.status == 101, names=resp.names)
        if resp.status == 101:
            return OutgoingResponse(
                101,
                resp.reason,
                headers,
                tunnel=(conn.reader, conn.writer, conn.take_upgrade_trailing()),
                tunnel_count=conn.count,
                finished=lambda ok: self._pool.discard(conn),
            )
        no_body = resp.framing is Framing.NONE and (
            request.method == "HEAD" or resp.status in (204, 304) or resp.status < 200
        )
        if no_body:
            length = resp.header(b"content-length")
            if length is not None and request.method == "HEAD":
                headers.append((b"Content-Length", length))
            self._finish_conn(conn, ok=True)
            return OutgoingResponse(resp.status, resp.reason, headers, no_body=True)
        if resp.framing is Framing.NONE:
            self._finish_conn(conn, ok=True)
            return OutgoingResponse(resp.status, resp.reason, headers, body=b"")

        def finished(ok: bool) -> None:
            self._finish_conn(conn, ok)

        return OutgoingResponse(
            resp.status,
            resp.reason,
            headers,
            stream=conn.body(timeouts.idle),
            stream_length=resp.content_length if resp.framing is Framing.LENGTH else None,
            finished=finished,
        )
