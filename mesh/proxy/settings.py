"""Proxy settings from flags, with environment variables as defaults."""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .detect import parse_port_list
from .errors import ConfigError
from .services import Timeouts, split_address

POLICIES = ("all-unauthenticated", "all-authenticated", "deny")


@dataclass(frozen=True, slots=True)
class ProxySettings:
    inbound_addr: tuple[str, int] = ("0.0.0.0", 4143)
    outbound_addr: tuple[str, int] = ("127.0.0.1", 4140)
    admin_addr: tuple[str, int] = ("0.0.0.0", 4191)
    identity_dir: Path | None = None  # holds cert.pem (chain) and key.pem
    trust_bundle: Path | None = None
    identity_name: str | None = None
    token_path: Path | None = None  # for the identity client
    identity_addr: str | None = None
    destination_addr: str | None = None
    resolver_file: Path | None = None
    default_inbound_policy: str = "all-unauthenticated"
    inbound_app_host: str = "127.0.0.1"
    opaque_ports: frozenset[int] = frozenset()
    detect_timeout: float = 10.0
    timeouts: Timeouts = field(default_factory=Timeouts)
    head_timeout: float = 10.0
    shutdown_grace: float = 30.0
    log_level: str = "info"


def _env(name: str, default: str | None = None) -> str | None:
    return os.environ.get(f"MESHFLEET_PROXY_{name}", default)


def _addr(text: str, flag: str) -> tuple[str, int]:
    return split_address(text, flag, allow_any_port=True)  # its error names the flag


def _seconds(text: str, flag: str) -> float:
    try:
        value = float(text.removesuffix("s"))
    except ValueError as e:
        raise ConfigError(f"{flag}: {text!r} is not a number of seconds") from e
    if value < 0:
        raise ConfigError(f"{flag}: must not be negative")
    return value


def parse_settings(argv: Sequence[str]) -> ProxySettings:
    """Flags override MESHFLEET_PROXY_* environment variables, which override defaults."""
    p = argparse.ArgumentParser(prog="meshfleet proxy", description="The meshfleet sidecar proxy.")
    p.add_argument("--inbound-addr", default=_env("INBOUND_ADDR", "0.0.0.0:4143"))
    p.add_argument("--outbound-addr", default=_env("OUTBOUND_ADDR", "127.0.0.1:4140"))
    p.add_argument("--admin-addr", default=_env("ADMIN_ADDR", "0.0.0.0:4191"))
    p.add_argument("--identity-dir", default=_env("IDENTITY_DIR"), help="directory with cert.pem and key.pem")
    p.add_argument("--trust-bundle", default=_env("TRUST_BUNDLE"), help="PEM file of trust anchors")
    p.add_argument("--identity-name", default=_env("IDENTITY_NAME"))
    p.add_argument("--token-path", default=_env("TOKEN_PATH"))
    p.add_argument("--identity-addr", default=_env("IDENTITY_ADDR"))
    p.add_argument("--destination-addr", default=_env("DESTINATION_ADDR"))
    p.add_argument("--resolver-file", default=_env("RESOLVER_FILE"), help="YAML or JSON endpoints file")
    p.add_argument(
        "--default-inbound-policy", default=_env("DEFAULT_INBOUND_POLICY", "all-unauthenticated"), choices=POLICIES
    )
    p.add_argument("--inbound-app-host", default=_env("INBOUND_APP_HOST", "127.0.0.1"))
    p.add_argument("--opaque-ports", default=_env("OPAQUE_PORTS", ""))
    p.add_argument("--detect-timeout", default=_env("DETECT_TIMEOUT", "10"))
    p.add_argument("--connect-timeout", default=_env("CONNECT_TIMEOUT", "1"))
    p.add_argument("--request-timeout", default=_env("REQUEST_TIMEOUT", ""), help="default; empty = none")
    p.add_argument("--idle-timeout", default=_env("IDLE_TIMEOUT", "300"))
    p.add_argument("--head-timeout", default=_env("HEAD_TIMEOUT", "10"))
    p.add_argument("--shutdown-grace", default=_env("SHUTDOWN_GRACE", "30"))
    p.add_argument("--log-level", default=_env("LOG_LEVEL", "info"))
    a = p.parse_args(list(argv))
    try:
        opaque = parse_port_list(a.opaque_ports or "")
    except ValueError as e:
        raise ConfigError(f"--opaque-ports: {e}") from e
    return ProxySettings(
        inbound_addr=_addr(a.inbound_addr, "--inbound-addr"),
        outbound_addr=_addr(a.outbound_addr, "--outbound-addr"),
        admin_addr=_addr(a.admin_addr, "--admin-addr"),
        identity_dir=Path(a.identity_dir) if a.identity_dir else None,
        trust_bundle=Path(a.trust_bundle) if a.trust_bundle else None,
        identity_name=a.identity_name or None,
        token_path=Path(a.token_path) if a.token_path else None,
        identity_addr=a.identity_addr or None,
        destination_addr=a.destination_addr or None,
        resolver_file=Path(a.resolver_file) if a.resolver_file else None,
        default_inbound_policy=a.default_inbound_policy,
        inbound_app_host=a.inbound_app_host,
        opaque_ports=opaque,
        detect_timeout=_seconds(a.detect_timeout, "--detect-timeout"),
        timeouts=Timeouts(
            request=_seconds(a.request_timeout, "--request-timeout") if a.request_timeout else None,
            connect=_seconds(a.connect_timeout, "--connect-timeout"),
            idle=_seconds(a.idle_timeout, "--idle-timeout"),
        ),
        head_timeout=_seconds(a.head_timeout, "--head-timeout"),
        shutdown_grace=_seconds(a.shutdown_grace, "--shutdown-grace"),
        log_level=a.log_level,
    )
