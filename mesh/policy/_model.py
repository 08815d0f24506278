"""The policy.meshfleet.io objects as typed values.

These mirror the CRDs the mesh installs (see mesh.manifests) but keep only
what the destination service and the proxy act on. ``_parse`` builds them
from API objects; nothing here does I/O.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from ._selectors import LabelSelector
from .errors import InvalidPolicyObject

POLICY_GROUP = "policy.meshfleet.io"


class DefaultPolicy(enum.Enum):
    """What happens to traffic on a port no Server and no authorization speaks for."""

    ALL_UNAUTHENTICATED = "all-unauthenticated"  # anyone, meshed or not
    ALL_AUTHENTICATED = "all-authenticated"  # any client with a mesh identity
    CLUSTER_AUTHENTICATED = "cluster-authenticated"  # meshed clients, or any client from the cluster's networks
    DENY = "deny"  # nobody
    AUDIT = "audit"  # anyone, but every connection that would be refused is reported as such

    @classmethod
    def parse(cls, value: str, where: str) -> DefaultPolicy:
        try:
            return cls(value)
        except ValueError as e:
            choices = ", ".join(p.value for p in cls)
            raise InvalidPolicyObject(where, f"{value!r} is not a default policy (one of {choices})") from e


@dataclass(frozen=True, slots=True)
class ObjectRef:
    """A reference from one policy object to another (targetRef, requiredAuthenticationRefs, parentRefs)."""

    kind: str
    name: str
    namespace: str  # filled with the referring object's namespace when the reference omits it
    group: str = POLICY_GROUP
    port: int | None = None  # parentRefs of an HTTPRoute may name a port


@dataclass(frozen=True, slots=True)
class Server:
    """A port (number or container port name) on the pods a selector picks."""

    namespace: str
    name: str
    pod_selector: LabelSelector
    port: int | str
    protocol: str = "unknown"  # unknown, HTTP/1, HTTP/2, gRPC, opaque, TLS
    access_policy: DefaultPolicy | None = None  # when no authorization matches; None = deny


@dataclass(frozen=True, slots=True)
class AuthorizationPolicy:
    namespace: str
    name: str
    target: ObjectRef  # a Server, an HTTPRoute, or a Namespace
    required: tuple[ObjectRef, ...]  # every one must be satisfied


@dataclass(frozen=True, slots=True)
class MeshTLSAuthentication:
    """Client identities, exact or wildcard: ``*`` (any meshed client) or ``*.<suffix>``."""

    namespace: str
    name: str
    identities: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Network:
    cidr: str
    exceptions: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class NetworkAuthentication:
    namespace: str
    name: str
    networks: tuple[Network, ...]


@dataclass(frozen=True, slots=True)
class PathMatch:
    kind: str  # Exact, PathPrefix, RegularExpression
    value: str


@dataclass(frozen=True, slots=True)
class HeaderMatch:
    kind: str  # Exact, RegularExpression
    name: str  # lower-cased
    value: str


@dataclass(frozen=True, slots=True)
class RouteMatch:
    """All present conditions must hold; an empty match matches every request."""

    path: PathMatch | None = None
    method: str | None = None
    headers: tuple[HeaderMatch, ...] = ()


@dataclass(frozen=True, slots=True)
class BackendRef:
    name: str
    namespace: str
    port: int | None = None
    weight: int = 1


@dataclass(frozen=True, slots=True)
class RetrySpec:
    limit: int = 2
    conditions: tuple[str, ...] = ("5xx", "gateway-error", "connect-failure")
    per_try_timeout: float | None = None


@dataclass(frozen=True, slots=True)
class RouteRule:
    matches: tuple[RouteMatch, ...] = ()  # empty: every request
    backends: tuple[BackendRef, ...] = ()  # empty: the parent Service itself
    request_timeout: float | None = None
    backend_request_timeout: float | None = None


@dataclass(frozen=True, slots=True)
class HTTPRoute:
    namespace: str
    name: str
    parents: tuple[ObjectRef, ...]
    hostnames: tuple[str, ...] = ()
    rules: tuple[RouteRule, ...] = ()
    retry: RetrySpec | None = None  # from retry.meshfleet.io/* annotations
    created: str = ""  # creationTimestamp: the older route wins a conflict, as in Gateway API


@dataclass(frozen=True, slots=True)
class BreakerSpec:
    """Consecutive-failure accrual settings from balancer.meshfleet.io/* annotations on a Service."""

    consecutive_failures: int = 7
    min_backoff: float = 1.0
    max_backoff: float = 60.0
