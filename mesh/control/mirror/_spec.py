"""A Link object read into a typed spec, and the label selector that picks the exported Services (pure).

Every check here exists because the mirror would otherwise write objects
the API server refuses, or mirror the wrong things: the target cluster's
name becomes part of every mirror's name (``S-T``), the gateway port and
address go into EndpointSlices, and the selector decides what crosses
clusters. A bad field is reported as :class:`InvalidLink` naming the Link
and the field, and the mirror leaves the Link's mirrors as they are.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mesh import wellknown
from mesh.policy import LabelSelector, SelectorRequirement

from .errors import InvalidLink

EXPORT_LABEL = wellknown.EXPORT_LABEL
LINK_API_VERSION = "multicluster.meshfleet.io/v1alpha1"

# A DNS label (RFC 1123): the target cluster's name ends every mirror's name.
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS_PART = r"[A-Za-z0-9]([-A-Za-z0-9]*[A-Za-z0-9])?"
_DNS_NAME = re.compile(rf"^(?=.{{1,253}}$){_DNS_PART}(\.{_DNS_PART})*\.?$")
_OPERATORS = ("In", "NotIn", "Exists", "DoesNotExist")


# The selector of Links is a Kubernetes label selector, matched like any other in the mesh.
EXPORTED = LabelSelector(match_labels=((EXPORT_LABEL, "true"),))


@dataclass(frozen=True, slots=True)
class LinkSpec:
    """What the mirror needs from one Link; ``name`` is ``namespace/name`` of the Link object in this cluster."""

    name: str
    target_cluster: str
    target_domain: str
    gateway_port: int
    gateway_identity: str
    gateway_address: str | None = None
    selector: LabelSelector = EXPORTED

    @property
    def gateway_ip(self) -> str | None:
        """The gateway address when it is an IP address; None when absent or a DNS name."""
        if self.gateway_address is None:
            return None
        try:
            return str(ipaddress.IPv4Address(self.gateway_address))
        except ValueError:
            return None

    @property
    def gateway_hostname(self) -> str | None:
        """The gateway address when it is a DNS name the shell must resolve."""
        if self.gateway_address is None or self.gateway_ip is not None:
            return None
        return self.gateway_address


def _string(spec: Mapping[str, Any], field: str, link: str, *, required: bool) -> str | None:
    value = spec.get(field)
    if value is None or value == "":
        if required:
            raise InvalidLink(link, f"spec.{field}", "is required")
        return None
    if not isinstance(value, str):
        raise InvalidLink(link, f"spec.{field}", f"must be a string, not {type(value).__name__}")
    return value


def _selector(raw: Any, link: str) -> LabelSelector:
    if raw is None:
        # The rendered Links always carry the export label; an old one without a selector means the same.
        return EXPORTED
    if not isinstance(raw, Mapping):
        raise InvalidLink(link, "spec.selector", "must be a label selector object")
    labels = raw.get("matchLabels") or {}
    if not isinstance(labels, Mapping) or not all(isinstance(v, str) for v in labels.values()):
        raise InvalidLink(link, "spec.selector.matchLabels", "must map label names to strings")
    exprs = raw.get("matchExpressions") or []
    if not isinstance(exprs, list):
        raise InvalidLink(link, "spec.selector.matchExpressions", "must be a list")
    requirements = []
    for i, expr in enumerate(exprs):
        where = f"spec.selector.matchExpressions[{i}]"
        if not isinstance(expr, Mapping) or not isinstance(expr.get("key"), str) or not expr.get("key"):
            raise InvalidLink(link, where, "needs a key")
        op = expr.get("operator")
        if op not in _OPERATORS:
            raise InvalidLink(link, f"{where}.operator", f"must be one of {', '.join(_OPERATORS)}, not {op!r}")
        values = expr.get("values") or []
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise InvalidLink(link, f"{where}.values", "must be a list of strings")
        if op in ("In", "NotIn") and not values:
            raise InvalidLink(link, f"{where}.values", f"{op} needs at least one value")
        if op in ("Exists", "DoesNotExist") and values:
            raise InvalidLink(link, f"{where}.values", f"{op} takes no values")
        requirements.append(SelectorRequirement(str(expr["key"]), str(op), tuple(sorted(set(values)))))
    if not labels and not requirements:
        # An empty selector matches everything: every Service of the other cluster, kube-system's included.
        raise InvalidLink(link, "spec.selector", "is empty and would mirror every Service; name a label")
    return LabelSelector(tuple(sorted((str(k), str(v)) for k, v in labels.items())), tuple(requirements))


def parse_link(obj: Mapping[str, Any]) -> LinkSpec:
    """Read a Link object; :class:`InvalidLink` names the Link and the first field that is wrong."""
    meta = obj.get("metadata") if isinstance(obj.get("metadata"), Mapping) else {}
    link = f"{(meta or {}).get('namespace', '')}/{(meta or {}).get('name', '')}"
    spec = obj.get("spec")
    if not isinstance(spec, Mapping):
        raise InvalidLink(link, "spec", "is missing")
    target = _string(spec, "targetClusterName", link, required=True) or ""
    if len(target) > 63 or not _DNS_LABEL.match(target):
        raise InvalidLink(link, "spec.targetClusterName",
                          f"{target!r} is not a DNS label (lowercase letters, digits and '-', at most 63)")
    domain = _string(spec, "targetClusterDomain", link, required=True) or ""
    if not _DNS_NAME.match(domain):
        raise InvalidLink(link, "spec.targetClusterDomain", f"{domain!r} is not a DNS name")
    port = spec.get("gatewayPort")
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        raise InvalidLink(link, "spec.gatewayPort", f"must be an integer from 1 to 65535, not {port!r}")
    identity = _string(spec, "gatewayIdentity", link, required=True) or ""
    address = _string(spec, "gatewayAddress", link, required=False)
    if address is not None:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError as e:
            if not _DNS_NAME.match(address):
                raise InvalidLink(
                    link, "spec.gatewayAddress", f"{address!r} is neither an IP address nor a DNS name"
                ) from e
        else:
            if ip.version != 4:
                raise InvalidLink(link, "spec.gatewayAddress", f"{address} is IPv6; mirrors carry IPv4 endpoints only")
    return LinkSpec(
        name=link,
        target_cluster=target,
        target_domain=domain.rstrip("."),
        gateway_port=port,
        gateway_identity=identity,
        gateway_address=address,
        selector=_selector(spec.get("selector"), link),
    )
