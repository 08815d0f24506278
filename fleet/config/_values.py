"""Parse the small value syntaxes the schemas only check the shape of: CIDRs, durations, addresses."""

from __future__ import annotations

import ipaddress
import re
from datetime import timedelta

from fleet.config._model import IPNetwork

_DURATION_PART = re.compile(r"([0-9]+(?:\.[0-9]+)?)(ms|s|m|h)")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
_HOSTNAME = re.compile(r"^(?=.{1,253}$)[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*$")


def parse_cidr(text: str) -> IPNetwork | str:
    """The network, or the reason ``text`` is not one (host bits set count as a mistake)."""
    try:
        ipaddress.ip_network(text, strict=False)
    except ValueError:
        return f"{text!r} is not a valid CIDR"
    try:
        return ipaddress.ip_network(text, strict=True)
    except ValueError:
        network = ipaddress.ip_network(text, strict=False)
        return f"{text!r} has host bits set; did you mean {str(network)!r}?"


def parse_duration(text: str) -> timedelta:
    """``1h30m`` -> 90 minutes; ``text`` already matched the schema's duration pattern."""
    seconds = sum(float(number) * _UNIT_SECONDS[unit] for number, unit in _DURATION_PART.findall(text))
    return timedelta(seconds=seconds)


def address_problem(text: str) -> str | None:
    """Why ``text`` is neither an IP address nor a DNS name, or None when it is one."""
    try:
        ipaddress.ip_address(text)
        return None
    except ValueError:
        pass
    if _HOSTNAME.match(text.lower().rstrip(".")):
        return None
    return f"{text!r} is not an IP address or DNS name"
