"""Does a request match an HTTPRoute match; does a client match an identity or a network."""

from __future__ import annotations

import functools
import ipaddress
import re
from dataclasses import dataclass

from ._model import HeaderMatch, Network, PathMatch, RouteMatch


@dataclass(frozen=True, slots=True)
class RequestInfo:
    """What the evaluator needs of an HTTP request; header names lower-case."""

    path: str
    method: str = "GET"
    headers: tuple[tuple[str, str], ...] = ()

    def header(self, name: str) -> str | None:
        for k, v in self.headers:
            if k == name:
                return v
        return None


@functools.lru_cache(maxsize=512)
def _regex(pattern: str) -> re.Pattern[str] | None:
    try:
        return re.compile(pattern)
    except re.error:
        return None  # a pattern that does not compile matches nothing


def _path_matches(m: PathMatch, path: str) -> bool:
    path = path.split("?", 1)[0] or "/"
    if m.kind == "Exact":
        return path == m.value
    if m.kind == "PathPrefix":
        prefix = m.value.rstrip("/")
        # Prefixes match whole segments: /api matches /api and /api/x, never /apix.
        return prefix == "" or path == prefix or path.startswith(prefix + "/")
    rx = _regex(m.value)
    return rx is not None and rx.fullmatch(path) is not None


def _header_matches(m: HeaderMatch, request: RequestInfo) -> bool:
    value = request.header(m.name)
    if value is None:
        return False
    if m.kind == "Exact":
        return value == m.value
    rx = _regex(m.value)
    return rx is not None and rx.fullmatch(value) is not None


def request_matches(match: RouteMatch, request: RequestInfo) -> bool:
    if match.path is not None and not _path_matches(match.path, request.path):
        return False
    if match.method is not None and match.method != request.method.upper():
        return False
    return all(_header_matches(h, request) for h in match.headers)


def any_match(matches: tuple[RouteMatch, ...], request: RequestInfo) -> bool:
    """A rule with no matches takes every request."""
    return not matches or any(request_matches(m, request) for m in matches)


def identity_matches(pattern: str, identity: str) -> bool:
    """``*`` is any identity; ``*.<suffix>`` any identity with more labels in front of that suffix."""
    if pattern == "*":
        return True
    if pattern.startswith("*."):
        suffix = pattern[1:]
        return identity.endswith(suffix) and len(identity) > len(suffix)
    return pattern == identity


@functools.lru_cache(maxsize=1024)
def _network(cidr: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    try:
        return ipaddress.ip_network(cidr, strict=False)
    except ValueError:
        return None


@functools.lru_cache(maxsize=4096)
def _address(ip: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        addr = ipaddress.ip_address(ip.strip("[]"))
    except ValueError:
        return None
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        return addr.ipv4_mapped  # ::ffff:10.0.0.1 from a dual-stack socket is 10.0.0.1
    return addr


def _within(addr: ipaddress.IPv4Address | ipaddress.IPv6Address, cidr: str) -> bool:
    net = _network(cidr)
    return net is not None and addr.version == net.version and addr in net


def address_in(ip: str | None, networks: tuple[Network, ...]) -> bool:
    """Whether ``ip`` lies in one of ``networks`` and in none of that network's exceptions."""
    if ip is None:
        return False
    addr = _address(ip)
    if addr is None:
        return False
    return any(_within(addr, n.cidr) and not any(_within(addr, e) for e in n.exceptions) for n in networks)
