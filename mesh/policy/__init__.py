"""The mesh's authorization and routing policy: pure values, compilation and evaluation.

Shared by the destination service, which compiles policy from the cluster's
objects and streams it, and the proxy, which enforces it. Nothing here does
I/O or imports anything heavier than the standard library, so the proxy can
load it in every pod.

Public API:
- ``parse_policy_object(obj, identity_suffix)``: a policy.meshfleet.io object -> value.
- ``PolicySet.of(objects)``; ``compile_inbound(pod, policies, default, networks)`` -> ``InboundPolicy``.
- ``evaluate(policy, port, identity, ip, request=None)`` -> ``Decision`` (the proxy's per-connection
  and per-request check).
- ``outbound_routes(namespace, service, port, policies)`` -> ``OutboundRoutes`` (weighted backends,
  timeouts, retries from HTTPRoutes).
- ``inbound_to_wire`` / ``inbound_from_wire``: the JSON form the destination stream carries.
"""

from ._durations import parse_duration
from ._inbound import (
    ClientRule,
    Decision,
    InboundPolicy,
    InboundRoute,
    PodFacts,
    PolicySet,
    PortPolicy,
    compile_inbound,
    evaluate,
)
from ._matching import RequestInfo, address_in, identity_matches, request_matches
from ._model import (
    POLICY_GROUP,
    AuthorizationPolicy,
    BackendRef,
    BreakerSpec,
    DefaultPolicy,
    HeaderMatch,
    HTTPRoute,
    MeshTLSAuthentication,
    Network,
    NetworkAuthentication,
    ObjectRef,
    PathMatch,
    RetrySpec,
    RouteMatch,
    RouteRule,
    Server,
)
from ._parse import (
    BREAKER_FAILURES_ANNOTATION,
    BREAKER_MAX_BACKOFF_ANNOTATION,
    BREAKER_MIN_BACKOFF_ANNOTATION,
    KINDS,
    RETRY_CONDITIONS_ANNOTATION,
    RETRY_LIMIT_ANNOTATION,
    RETRY_TIMEOUT_ANNOTATION,
    PolicyObject,
    parse_breaker_annotations,
    parse_policy_object,
    parse_retry_annotations,
    parse_selector,
)
from ._routes import OutboundRoutes, OutboundRule, WeightedBackend, outbound_routes
from ._selectors import LabelSelector, SelectorRequirement
from ._wire import inbound_from_wire, inbound_to_wire, match_from_wire, match_to_wire

__all__ = [
    "BREAKER_FAILURES_ANNOTATION",
    "BREAKER_MAX_BACKOFF_ANNOTATION",
    "BREAKER_MIN_BACKOFF_ANNOTATION",
    "KINDS",
    "POLICY_GROUP",
    "RETRY_CONDITIONS_ANNOTATION",
    "RETRY_LIMIT_ANNOTATION",
    "RETRY_TIMEOUT_ANNOTATION",
    "AuthorizationPolicy",
    "BackendRef",
    "BreakerSpec",
    "ClientRule",
    "Decision",
    "DefaultPolicy",
    "HTTPRoute",
    "HeaderMatch",
    "InboundPolicy",
    "InboundRoute",
    "LabelSelector",
    "MeshTLSAuthentication",
    "Network",
    "NetworkAuthentication",
    "ObjectRef",
    "OutboundRoutes",
    "OutboundRule",
    "PathMatch",
    "PodFacts",
    "PolicyObject",
    "PolicySet",
    "PortPolicy",
    "RequestInfo",
    "RetrySpec",
    "RouteMatch",
    "RouteRule",
    "SelectorRequirement",
    "Server",
    "WeightedBackend",
    "address_in",
    "compile_inbound",
    "evaluate",
    "identity_matches",
    "inbound_from_wire",
    "inbound_to_wire",
    "match_from_wire",
    "match_to_wire",
    "outbound_routes",
    "parse_breaker_annotations",
    "parse_duration",
    "parse_policy_object",
    "parse_retry_annotations",
    "parse_selector",
    "request_matches",
]
