"""What the proxy knows about a destination: endpoints and per-service behaviour.

Values only. The resolver produces ``Resolution`` values; the data path
reads timeouts, retry policy and the endpoint list from them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from .errors import ResolverConfigError
from .retry import NO_RETRIES, RETRY_CONDITIONS, RetryPolicy


@dataclass(frozen=True, slots=True)
class Timeouts:
    request: float | None = None  # whole request including retries; None = no limit
    connect: float = 1.0
    idle: float = 300.0  # an open connection with no traffic in either direction


@dataclass(frozen=True, slots=True)
class Endpoint:
    host: str
    port: int
    identity: str | None = None  # expected TLS identity; None = not meshed, plaintext
    weight: float = 1.0
    # Dial this port on the endpoint's host instead of ``port`` and announce
    # ``port`` in the preface: for setups where nothing intercepts inbound traffic.
    proxy_port: int | None = None
    labels: tuple[tuple[str, str], ...] = ()
    # Set when the endpoint is another cluster's gateway: the ``host:port`` of
    # the service there that the gateway should forward to.
    remote: str | None = None
    # Endpoints key the balancer, the breakers and the connection pool, so
    # they are hashed several times per request: hash the fields once.
    _hash: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        fields = (self.host, self.port, self.identity, self.weight, self.proxy_port, self.labels, self.remote)
        object.__setattr__(self, "_hash", hash(fields))

    def __hash__(self) -> int:
        return self._hash

    @property
    def address(self) -> str:
        return format_address(self.host, self.port)


@dataclass(frozen=True, slots=True)
class ServiceConfig:
    name: str  # the authority clients use, host:port
    namespace: str = ""
    service: str = ""
    addresses: tuple[str, ...] = ()  # other ip:port forms that reach the service
    timeouts: Timeouts = field(default_factory=Timeouts)
    retry: RetryPolicy = NO_RETRIES
    opaque: bool = False


@dataclass(frozen=True, slots=True)
class Resolution:
    target: str
    service: ServiceConfig
    endpoints: tuple[Endpoint, ...]


def format_address(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def split_address(text: str, where: str, *, allow_any_port: bool = False) -> tuple[str, int]:
    """'10.0.0.1:80' or '[fd00::1]:80' -> (host, port); errors name ``where``.

    ``allow_any_port`` accepts port 0 (let the kernel choose, for listeners).
    """
    if text.startswith("["):
        host, sep, port_text = text[1:].partition("]:")
    else:
        host, sep, port_text = text.rpartition(":")
    lowest = 0 if allow_any_port else 1
    if not sep or not host or not port_text.isdigit() or not lowest <= int(port_text) <= 65535:
        raise ResolverConfigError(f"{where}: {text!r} is not host:port")
    return host, int(port_text)


def _number(value: object, where: str, *, allow_none: bool = False) -> float | None:
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ResolverConfigError(f"{where}: expected a non-negative number of seconds, got {value!r}")
    return float(value)


def _mapping(value: object, where: str) -> Mapping[str, object]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ResolverConfigError(f"{where}: expected a mapping")
    return value


def parse_timeouts(raw: object, where: str, default: Timeouts) -> Timeouts:
    data = _mapping(raw, where)
    unknown = set(data) - {"request", "connect", "idle"}
    if unknown:
        raise ResolverConfigError(f"{where}: unknown keys {sorted(unknown)}")
    request = _number(data.get("request", default.request), f"{where}.request", allow_none=True)
    connect = _number(data.get("connect", default.connect), f"{where}.connect") or 0.0
    idle = _number(data.get("idle", default.idle), f"{where}.idle") or 0.0
    return Timeouts(request=request, connect=connect, idle=idle)


def parse_retry(raw: object, where: str) -> RetryPolicy:
    if raw is None:
        return NO_RETRIES
    data = _mapping(raw, where)
    unknown = set(data) - {"limit", "on", "per_try_timeout"}
    if unknown:
        raise ResolverConfigError(f"{where}: unknown keys {sorted(unknown)}")
    limit = data.get("limit", 2)
    if not isinstance(limit, int) or isinstance(limit, bool) or limit < 0:
        raise ResolverConfigError(f"{where}.limit: expected a non-negative integer")
    on = data.get("on", ["5xx", "gateway-error", "connect-failure"])
    if not isinstance(on, list) or not all(isinstance(c, str) for c in on):
        raise ResolverConfigError(f"{where}.on: expected a list of conditions")
    bad = set(on) - RETRY_CONDITIONS
    if bad:
        raise ResolverConfigError(f"{where}.on: unknown conditions {sorted(bad)}")
    per_try = _number(data.get("per_try_timeout"), f"{where}.per_try_timeout", allow_none=True)
    return RetryPolicy(limit=limit, retry_on=frozenset(on), per_try_timeout=per_try)
