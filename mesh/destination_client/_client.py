"""The proxy's client of the destination service: one long-lived mTLS stream, many subscriptions.

    run()      connect -> send every current subscription -> read frames, apply them
               on any failure: keep every view as it is, wait (back-off), connect again
    resolve()  the proxy's Resolver protocol: subscribe a target, hear every change

While the stream is down subscribers keep the last endpoints they were told;
after a reconnect each subscription gets a fresh snapshot, so whatever
changed meanwhile converges.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from mesh.policy import InboundPolicy, inbound_from_wire
from mesh.policy.errors import InvalidPolicyObject
from mesh.proxy.breaker import BreakerConfig
from mesh.proxy.services import Resolution, Timeouts

from . import _messages as m
from ._backoff import Backoff
from ._frames import FrameDecoder, Message, encode
from ._resolution import to_breaker_config, to_resolution
from ._views import DestinationView, apply_update, view_from_wire
from .errors import Disconnected, ProtocolError, StreamError

log = logging.getLogger(__name__)

UpdateCallback = Callable[[Resolution | None], None]
PolicyCallback = Callable[[InboundPolicy], None]


@dataclass(frozen=True, slots=True)
class ClientConfig:
    address: tuple[str, int]
    server_name: str  # the destination service's mesh identity; its certificate must name it
    pod: tuple[str, str] | None = None  # (namespace, name) of our pod, for its inbound policy
    backoff: Backoff = field(default_factory=Backoff)
    connect_timeout: float = 5.0
    # The service sends a heartbeat every few seconds; this long without any frame means the peer is gone.
    silence_timeout: float = 30.0
    default_timeouts: Timeouts = field(default_factory=Timeouts)


class _Target:
    def __init__(self, sub_id: int, target: str) -> None:
        self.id = sub_id
        self.target = target
        self.view: DestinationView | None = None
        self.resolution: Resolution | None = None
        self.answered = asyncio.Event()
        self.listeners: list[UpdateCallback] = []


class _Sub:
    def __init__(self, cancel: Callable[[], None]) -> None:
        self._cancel: Callable[[], None] | None = cancel

    def cancel(self) -> None:
        if self._cancel is not None:
            self._cancel()
            self._cancel = None


class DestinationClient:
    def __init__(
        self,
        config: ClientConfig,
        tls: Callable[[], ssl.SSLContext | None],
        *,
        rng: random.Random | None = None,
    ) -> None:
        self.config = config
        self._tls = tls
        self._rng = rng or random.Random()
        self._targets: dict[str, _Target] = {}
        self._by_id: dict[int, _Target] = {}
        self._next_id = 1
        self._writer: asyncio.StreamWriter | None = None
        self._policy_id = 0
        self._policy: InboundPolicy | None = None
        self._policy_listeners: list[PolicyCallback] = []
        self.connected = asyncio.Event()
        self.connects = 0  # streams established, for metrics and tests
        self.last_error: str | None = None

    # -- the Resolver protocol ------------------------------------------------------------

    def resolve(self, target: str, on_update: UpdateCallback) -> _Sub:
        """Call ``on_update`` with what is known now (if anything), then on every change, until cancelled."""
        t = self._targets.get(target)
        if t is None:
            t = _Target(self._new_id(), target)
            self._targets[target] = t
            self._by_id[t.id] = t
            self._send(m.subscribe(t.id, target))
        t.listeners.append(on_update)
        if t.answered.is_set():
            on_update(t.resolution)
        return _Sub(lambda: self._drop(t, on_update))

    def _drop(self, t: _Target, listener: UpdateCallback) -> None:
        with contextlib.suppress(ValueError):
            t.listeners.remove(listener)
        if not t.listeners and self._targets.get(t.target) is t:
            del self._targets[t.target]
            self._by_id.pop(t.id, None)
            self._send(m.unsubscribe(t.id))

    async def wait_resolved(self, target: str) -> Resolution | None:
        """The first answer for ``target`` (subscribed already); bound the wait with ``asyncio.timeout``."""
        t = self._targets.get(target)
        if t is None:
            return None
        await t.answered.wait()
        return t.resolution

    def view(self, target: str) -> DestinationView | None:
        t = self._targets.get(target)
        return t.view if t else None

    def breaker(self, target: str) -> BreakerConfig | None:
        """Per-destination breaker settings, when the Service sets any."""
        v = self.view(target)
        return to_breaker_config(v) if v else None

    # -- inbound policy ---------------------------------------------------------------------

    def inbound_policy(self, on_policy: PolicyCallback) -> _Sub:
        """Our pod's inbound policy, now if known and on every change."""
        if self.config.pod is None:
            raise ValueError("inbound policy needs ClientConfig.pod")
        if self._policy_id == 0:
            self._policy_id = self._new_id()
            ns, name = self.config.pod
            self._send(m.inbound(self._policy_id, ns, name))
        self._policy_listeners.append(on_policy)
        if self._policy is not None:
            on_policy(self._policy)
        return _Sub(lambda: self._policy_listeners.remove(on_policy) if on_policy in self._policy_listeners else None)

    @property
    def policy(self) -> InboundPolicy | None:
        return self._policy

    # -- the stream -----------------------------------------------------------------------------

    def _new_id(self) -> int:
        sub_id = self._next_id
        self._next_id += 1
        return sub_id

    def _send(self, msg: Message) -> None:
        w = self._writer
        if w is None or w.is_closing():
            return  # sent on the next connect with every other subscription
        w.write(encode(msg))

    async def run(self) -> None:
        """Keep a stream up until cancelled."""
        attempt = 0
        while True:
            try:
                await self._session()
            except StreamError as e:
                self.last_error = str(e)
                log.warning("destination stream to %s:%d lost: %s", *self.config.address, e)
            attempt = 1 if self.connected.is_set() else attempt + 1
            self.connected.clear()
            await asyncio.sleep(self.config.backoff.delay(attempt, self._rng))

    async def _session(self) -> None:
        ctx = self._tls()
        if ctx is None:
            raise Disconnected("no client certificate yet")
        host, port = self.config.address
        try:
            async with asyncio.timeout(self.config.connect_timeout):
                reader, writer = await asyncio.open_connection(
                    host, port, ssl=ctx, server_hostname=self.config.server_name
                )
        except TimeoutError as e:
            raise Disconnected(f"no connection within {self.config.connect_timeout:g}s") from e
        except ssl.SSLCertVerificationError as e:
            raise Disconnected(f"the service is not {self.config.server_name}: {e.verify_message}") from e
        except (OSError, ssl.SSLError) as e:
            raise Disconnected(f"cannot connect: {e.strerror or type(e).__name__}") from e
        self._writer = writer
        try:
            for t in self._targets.values():
                writer.write(encode(m.subscribe(t.id, t.target)))
            if self._policy_id and self.config.pod is not None:
                writer.write(encode(m.inbound(self._policy_id, *self.config.pod)))
            await self._read(reader)
        finally:
            self._writer = None
            writer.close()
            with contextlib.suppress(OSError, ssl.SSLError, asyncio.CancelledError):
                await writer.wait_closed()

    async def _read(self, reader: asyncio.StreamReader) -> None:
        decoder = FrameDecoder()
        while True:
            try:
                async with asyncio.timeout(self.config.silence_timeout):
                    data = await reader.read(65536)
            except TimeoutError as e:
                raise Disconnected(f"nothing heard for {self.config.silence_timeout:g}s") from e
            except (OSError, ssl.SSLError) as e:
                raise Disconnected(f"read failed: {type(e).__name__}") from e
            if not data:
                raise Disconnected("the service closed the stream")
            for msg in decoder.feed(data):
                self._handle(msg)

    def _handle(self, msg: Message) -> None:
        kind = msg.get("type")
        if kind == m.HELLO:
            if msg.get("version") != m.VERSION:
                raise ProtocolError(f"the service speaks version {msg.get('version')!r}, not {m.VERSION}")
            self.connects += 1
            self.connected.set()
            log.info("destination stream up (%d subscriptions)", len(self._targets))
            return
        if kind == m.HEARTBEAT:
            return
        sub_id = msg.get("id")
        if self._policy_id and sub_id == self._policy_id:
            self._handle_policy(kind, msg)
            return
        t = self._by_id.get(sub_id) if isinstance(sub_id, int) else None
        if t is None:
            return  # an answer to a subscription we have since cancelled
        if kind == m.SNAPSHOT:
            t.view = view_from_wire(msg.get("view") or {})
        elif kind == m.UPDATE:
            if t.view is None:
                raise ProtocolError(f"an update for {t.target} before its snapshot")
            t.view = apply_update(t.view, msg)
        elif kind in (m.GONE, m.ERROR):
            if kind == m.ERROR:
                log.warning("destination refused %s: %s %s", t.target, msg.get("code"), msg.get("message"))
            t.view = None
        else:
            raise ProtocolError(f"unknown message type {kind!r}")
        self._publish(t)

    def _handle_policy(self, kind: Any, msg: Message) -> None:
        if kind == m.POLICY:
            try:
                policy = inbound_from_wire(msg.get("policy") or {})
            except InvalidPolicyObject as e:
                raise ProtocolError(str(e)) from e
            if policy != self._policy:
                self._policy = policy
                for listener in list(self._policy_listeners):
                    listener(policy)
        elif kind == m.ERROR:
            # Keep enforcing the policy we have (or the proxy's default); never fail open on an error.
            log.warning("destination refused our inbound policy: %s %s", msg.get("code"), msg.get("message"))

    def _publish(self, t: _Target) -> None:
        resolution = to_resolution(t.view, self.config.default_timeouts) if t.view is not None else None
        first = not t.answered.is_set()
        t.answered.set()
        if resolution == t.resolution and not first:
            return
        t.resolution = resolution
        for listener in list(t.listeners):
            listener(resolution)
