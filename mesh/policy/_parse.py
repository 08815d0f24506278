"""From Kubernetes API objects (decoded JSON) to the policy values.

The CRD schemas already refuse most malformed objects at the API server;
these checks are the second line, for objects written before a schema
tightened or read from files. Every error names the object and the field.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from typing import Any

from ._durations import parse_duration
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
from ._selectors import LabelSelector, SelectorRequirement
from .errors import InvalidPolicyObject

PolicyObject = Server | AuthorizationPolicy | MeshTLSAuthentication | NetworkAuthentication | HTTPRoute

RETRY_LIMIT_ANNOTATION = "retry.meshfleet.io/limit"
RETRY_CONDITIONS_ANNOTATION = "retry.meshfleet.io/conditions"
RETRY_TIMEOUT_ANNOTATION = "retry.meshfleet.io/per-try-timeout"
BREAKER_FAILURES_ANNOTATION = "balancer.meshfleet.io/failure-accrual-consecutive-failures"
BREAKER_MIN_BACKOFF_ANNOTATION = "balancer.meshfleet.io/failure-accrual-min-backoff"
BREAKER_MAX_BACKOFF_ANNOTATION = "balancer.meshfleet.io/failure-accrual-max-backoff"
RETRY_CONDITIONS = frozenset({"5xx", "gateway-error", "connect-failure", "timeout"})

KINDS = ("Server", "AuthorizationPolicy", "MeshTLSAuthentication", "NetworkAuthentication", "HTTPRoute")


def _map(value: Any, where: str) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise InvalidPolicyObject(where, "expected an object")
    return value


def _list(value: Any, where: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise InvalidPolicyObject(where, "expected a list")
    return value


def _str(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value:
        raise InvalidPolicyObject(where, "expected a non-empty string")
    return value


def _port(value: Any, where: str) -> int | str:
    if isinstance(value, bool):
        raise InvalidPolicyObject(where, "expected a port number or name")
    if isinstance(value, int):
        if not 1 <= value <= 65535:
            raise InvalidPolicyObject(where, f"{value} is not a port number (1-65535)")
        return value
    if isinstance(value, str) and value:
        return int(value) if value.isdigit() else value
    raise InvalidPolicyObject(where, "expected a port number or name")


def parse_selector(raw: Any, where: str) -> LabelSelector:
    data = _map(raw, where)
    labels = _map(data.get("matchLabels"), f"{where}.matchLabels")
    reqs = []
    for i, expr in enumerate(_list(data.get("matchExpressions"), f"{where}.matchExpressions")):
        w = f"{where}.matchExpressions[{i}]"
        e = _map(expr, w)
        op = _str(e.get("operator"), f"{w}.operator")
        if op not in ("In", "NotIn", "Exists", "DoesNotExist"):
            raise InvalidPolicyObject(f"{w}.operator", f"{op!r} is not In, NotIn, Exists or DoesNotExist")
        values = tuple(str(v) for v in _list(e.get("values"), f"{w}.values"))
        reqs.append(SelectorRequirement(_str(e.get("key"), f"{w}.key"), op, values))
    return LabelSelector(tuple(sorted((str(k), str(v)) for k, v in labels.items())), tuple(reqs))


def _ref(raw: Any, where: str, namespace: str, default_group: str = POLICY_GROUP) -> ObjectRef:
    data = _map(raw, where)
    port = data.get("port")
    port_value = _port(port, f"{where}.port") if port is not None else None
    return ObjectRef(
        kind=_str(data.get("kind"), f"{where}.kind"),
        name=_str(data.get("name"), f"{where}.name"),
        namespace=str(data.get("namespace") or namespace),
        group=str(data.get("group", default_group)),
        port=port_value if isinstance(port_value, int) else None,
    )


def _check_cidr(text: Any, where: str) -> str:
    try:
        return str(ipaddress.ip_network(_str(text, where), strict=False))
    except ValueError as e:
        raise InvalidPolicyObject(where, f"{text!r} is not a CIDR") from e


def _server(ns: str, name: str, spec: Mapping[str, Any], where: str) -> Server:
    access = spec.get("accessPolicy")
    return Server(
        namespace=ns,
        name=name,
        pod_selector=parse_selector(spec.get("podSelector"), f"{where}.podSelector"),
        port=_port(spec.get("port"), f"{where}.port"),
        protocol=str(spec.get("proxyProtocol") or "unknown"),
        access_policy=DefaultPolicy.parse(access, f"{where}.accessPolicy") if access else None,
    )


def _authorization(ns: str, name: str, spec: Mapping[str, Any], where: str) -> AuthorizationPolicy:
    target = _ref(spec.get("targetRef"), f"{where}.targetRef", ns)
    if target.kind not in ("Server", "HTTPRoute", "Namespace"):
        raise InvalidPolicyObject(f"{where}.targetRef.kind", f"{target.kind!r} is not Server, HTTPRoute or Namespace")
    refs = _list(spec.get("requiredAuthenticationRefs"), f"{where}.requiredAuthenticationRefs")
    if not refs:
        raise InvalidPolicyObject(f"{where}.requiredAuthenticationRefs", "at least one authentication is required")
    required = []
    for i, raw in enumerate(refs):
        ref = _ref(raw, f"{where}.requiredAuthenticationRefs[{i}]", ns)
        if ref.kind not in ("MeshTLSAuthentication", "NetworkAuthentication"):
            raise InvalidPolicyObject(
                f"{where}.requiredAuthenticationRefs[{i}].kind",
                f"{ref.kind!r} is not MeshTLSAuthentication or NetworkAuthentication",
            )
        required.append(ref)
    return AuthorizationPolicy(ns, name, target, tuple(required))


def _meshtls(ns: str, name: str, spec: Mapping[str, Any], where: str, identity_suffix: str) -> MeshTLSAuthentication:
    identities = [_str(v, f"{where}.identities[{i}]") for i, v in enumerate(_list(spec.get("identities"), where))]
    for i, raw in enumerate(_list(spec.get("identityRefs"), f"{where}.identityRefs")):
        ref = _ref(raw, f"{where}.identityRefs[{i}]", ns, default_group="")
        if ref.kind == "ServiceAccount":
            sa = "*" if ref.name == "*" else ref.name
            identities.append(f"{sa}.{ref.namespace}.{identity_suffix}")
        elif ref.kind == "Namespace":
            identities.append(f"*.{ref.name}.{identity_suffix}")
        else:
            raise InvalidPolicyObject(
                f"{where}.identityRefs[{i}].kind", f"{ref.kind!r} is not ServiceAccount or Namespace"
            )
    if not identities:
        raise InvalidPolicyObject(where, "needs identities or identityRefs")
    for i, ident in enumerate(identities):
        if "*" in ident and ident != "*" and not (ident.startswith("*.") and "*" not in ident[2:]):
            raise InvalidPolicyObject(f"{where}.identities[{i}]", f"{ident!r}: a wildcard is '*' or '*.<suffix>'")
    return MeshTLSAuthentication(ns, name, tuple(identities))


def _network(ns: str, name: str, spec: Mapping[str, Any], where: str) -> NetworkAuthentication:
    nets = []
    for i, raw in enumerate(_list(spec.get("networks"), f"{where}.networks")):
        w = f"{where}.networks[{i}]"
        data = _map(raw, w)
        excepts = tuple(_check_cidr(c, f"{w}.except[{j}]") for j, c in enumerate(_list(data.get("except"), w)))
        nets.append(Network(_check_cidr(data.get("cidr"), f"{w}.cidr"), excepts))
    if not nets:
        raise InvalidPolicyObject(f"{where}.networks", "at least one network is required")
    return NetworkAuthentication(ns, name, tuple(nets))


def _match(raw: Any, where: str) -> RouteMatch:
    data = _map(raw, where)
    path = None
    if data.get("path") is not None:
        p = _map(data["path"], f"{where}.path")
        kind = str(p.get("type") or "PathPrefix")
        if kind not in ("Exact", "PathPrefix", "RegularExpression"):
            raise InvalidPolicyObject(f"{where}.path.type", f"{kind!r} is not Exact, PathPrefix or RegularExpression")
        path = PathMatch(kind, str(p.get("value") or "/"))
    headers = []
    for i, h in enumerate(_list(data.get("headers"), f"{where}.headers")):
        hd = _map(h, f"{where}.headers[{i}]")
        kind = str(hd.get("type") or "Exact")
        if kind not in ("Exact", "RegularExpression"):
            raise InvalidPolicyObject(f"{where}.headers[{i}].type", f"{kind!r} is not Exact or RegularExpression")
        headers.append(
            HeaderMatch(kind, _str(hd.get("name"), f"{where}.headers[{i}].name").lower(), str(hd.get("value", "")))
        )
    method = data.get("method")
    return RouteMatch(path, str(method).upper() if method else None, tuple(headers))


def _rule(raw: Any, where: str, ns: str) -> RouteRule:
    data = _map(raw, where)
    matches = tuple(_match(m, f"{where}.matches[{i}]") for i, m in enumerate(_list(data.get("matches"), where)))
    backends = []
    for i, b in enumerate(_list(data.get("backendRefs"), f"{where}.backendRefs")):
        w = f"{where}.backendRefs[{i}]"
        bd = _map(b, w)
        weight = bd.get("weight", 1)
        if isinstance(weight, bool) or not isinstance(weight, int) or weight < 0:
            raise InvalidPolicyObject(f"{w}.weight", "expected a non-negative integer")
        port = bd.get("port")
        port_value = _port(port, f"{w}.port") if port is not None else None
        if isinstance(port_value, str):
            raise InvalidPolicyObject(f"{w}.port", "a backend port is a number")
        backends.append(
            BackendRef(_str(bd.get("name"), f"{w}.name"), str(bd.get("namespace") or ns), port_value, weight)
        )
    timeouts = _map(data.get("timeouts"), f"{where}.timeouts")
    request = timeouts.get("request")
    backend = timeouts.get("backendRequest")
    return RouteRule(
        matches=matches,
        backends=tuple(backends),
        request_timeout=parse_duration(request, f"{where}.timeouts.request") if request else None,
        backend_request_timeout=parse_duration(backend, f"{where}.timeouts.backendRequest") if backend else None,
    )


def parse_retry_annotations(annotations: Mapping[str, str], where: str) -> RetrySpec | None:
    """Retries for an HTTPRoute; None when it has no retry.meshfleet.io/limit annotation."""
    limit_text = annotations.get(RETRY_LIMIT_ANNOTATION)
    if limit_text is None:
        return None
    if not limit_text.isdigit():
        raise InvalidPolicyObject(f"{where}: {RETRY_LIMIT_ANNOTATION}", f"{limit_text!r} is not a whole number")
    conditions_text = annotations.get(RETRY_CONDITIONS_ANNOTATION)
    conditions = RetrySpec().conditions
    if conditions_text is not None:
        conditions = tuple(c.strip() for c in conditions_text.split(",") if c.strip())
        unknown = sorted(set(conditions) - RETRY_CONDITIONS)
        if unknown:
            raise InvalidPolicyObject(
                f"{where}: {RETRY_CONDITIONS_ANNOTATION}",
                f"unknown conditions {unknown} (known: {sorted(RETRY_CONDITIONS)})",
            )
    timeout_text = annotations.get(RETRY_TIMEOUT_ANNOTATION)
    per_try = parse_duration(timeout_text, f"{where}: {RETRY_TIMEOUT_ANNOTATION}") if timeout_text else None
    return RetrySpec(int(limit_text), conditions, per_try)


def parse_breaker_annotations(annotations: Mapping[str, str], where: str) -> BreakerSpec | None:
    """Circuit-breaker settings of a Service; None when it sets none."""
    keys = (BREAKER_FAILURES_ANNOTATION, BREAKER_MIN_BACKOFF_ANNOTATION, BREAKER_MAX_BACKOFF_ANNOTATION)
    if not any(k in annotations for k in keys):
        return None
    default = BreakerSpec()
    failures_text = annotations.get(BREAKER_FAILURES_ANNOTATION, str(default.consecutive_failures))
    if not failures_text.isdigit() or int(failures_text) < 1:
        raise InvalidPolicyObject(
            f"{where}: {BREAKER_FAILURES_ANNOTATION}", f"{failures_text!r} is not a positive number"
        )
    lo_text = annotations.get(BREAKER_MIN_BACKOFF_ANNOTATION)
    hi_text = annotations.get(BREAKER_MAX_BACKOFF_ANNOTATION)
    lo = parse_duration(lo_text, f"{where}: {BREAKER_MIN_BACKOFF_ANNOTATION}") if lo_text else default.min_backoff
    hi = parse_duration(hi_text, f"{where}: {BREAKER_MAX_BACKOFF_ANNOTATION}") if hi_text else default.max_backoff
    if not 0 < lo <= hi:
        raise InvalidPolicyObject(where, "failure-accrual back-offs need 0 < min <= max")
    return BreakerSpec(int(failures_text), lo, hi)


def _route(ns: str, name: str, spec: Mapping[str, Any], where: str, meta: Mapping[str, Any]) -> HTTPRoute:
    parents_raw = _list(spec.get("parentRefs"), f"{where}.parentRefs")
    if not parents_raw:
        raise InvalidPolicyObject(f"{where}.parentRefs", "at least one parent is required")
    parents = []
    for i, raw in enumerate(parents_raw):
        data = _map(raw, f"{where}.parentRefs[{i}]")
        # A parent without a kind is a Service of the core group, as Gateway API's mesh profile reads it.
        merged = {"kind": "Service", "group": "core", **data}
        parents.append(_ref(merged, f"{where}.parentRefs[{i}]", ns))
    rules = tuple(_rule(r, f"{where}.rules[{i}]", ns) for i, r in enumerate(_list(spec.get("rules"), where)))
    annotations = _map(meta.get("annotations"), f"{where}.metadata.annotations")
    return HTTPRoute(
        namespace=ns,
        name=name,
        parents=tuple(parents),
        hostnames=tuple(str(h) for h in _list(spec.get("hostnames"), f"{where}.hostnames")),
        rules=rules,
        retry=parse_retry_annotations({str(k): str(v) for k, v in annotations.items()}, where),
        created=str(meta.get("creationTimestamp") or ""),
    )


def parse_policy_object(obj: Mapping[str, Any], identity_suffix: str) -> PolicyObject:
    """One policy.meshfleet.io object; ``identity_suffix`` completes identityRefs into DNS identities."""
    kind = obj.get("kind")
    meta = _map(obj.get("metadata"), "metadata")
    ns = str(meta.get("namespace") or "default")
    name = str(meta.get("name") or "")
    where = f"{kind} {ns}/{name}"
    if not name:
        raise InvalidPolicyObject(where, "metadata.name is missing")
    spec = _map(obj.get("spec"), f"{where}: spec")
    w = f"{where}: spec"
    if kind == "Server":
        return _server(ns, name, spec, w)
    if kind == "AuthorizationPolicy":
        return _authorization(ns, name, spec, w)
    if kind == "MeshTLSAuthentication":
        return _meshtls(ns, name, spec, w, identity_suffix)
    if kind == "NetworkAuthentication":
        return _network(ns, name, spec, w)
    if kind == "HTTPRoute":
        return _route(ns, name, spec, w, meta)
    raise InvalidPolicyObject(where, f"kind {kind!r} is not one of {', '.join(KINDS)}")
