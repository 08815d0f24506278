"""Proxy settings from flags, with environment variables as defaults."""

from __future__ import annotations

import argparse
import ipaddress
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .detect import parse_port_list
from .errors import ConfigError
from .services import Timeouts, split_address

POLICIES = ("all-unauthenticated", "all-authenticated", "cluster-authenticated", "deny", "audit")
MODES = ("sidecar", "gateway")


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
    identity_server_name: str | None = None  # the identity service's own mesh identity
    destination_addr: str | None = None
    destination_server_name: str | None = None
    pod_name: str | None = None
    pod_namespace: str | None = None
    cluster_networks: tuple[str, ...] = ()  # CIDRs for the cluster-authenticated policy
    mode: str = "sidecar"  # gateway: accepts mTLS from other clusters, no outbound listener
    resolver_file: Path | None = None
    default_inbound_policy: str = "all-unauthenticated"
    inbound_app_host: str = "127.0.0.1"
    opaque_ports: frozenset[int] = frozenset()
    detect_timeout: float = 10.0
    resolve_timeout: float = 3.0  # how long a request to a new destination waits for its first resolution
    timeouts: Timeouts = field(default_factory=Timeouts)
    head_timeout: float = 10.0
    shutdown_grace: float = 30.0
    log_level: str = "info"
    trace_collector: tuple[str, int] | None = None  # OTLP/HTTP collector for spans; None: no spans


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


def _networks(text: str) -> tuple[str, ...]:
    out: list[str] = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        try:
            out.append(str(ipaddress.ip_network(part, strict=False)))
        except ValueError as e:
            raise ConfigError(f"--cluster-networks: {part!r} is not a CIDR") from e
    return tuple(out)


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
    p.add_argument("--identity-addr", default=_env("IDENTITY_ADDR"), help="host:port of the identity service")
    p.add_argument("--identity-server-name", default=_env("IDENTITY_SERVER_NAME"))
    p.add_argument("--destination-addr", default=_env("DESTINATION_ADDR"), help="host:port of destination")
    p.add_argument("--destination-server-name", default=_env("DESTINATION_SERVER_NAME"))
    p.add_argument("--pod-name", default=_env("POD_NAME"))
    p.add_argument("--pod-namespace", default=_env("POD_NAMESPACE"))
    p.add_argument("--cluster-networks", default=_env("CLUSTER_NETWORKS", ""), help="comma-separated CIDRs")
    p.add_argument("--mode", default=_env("MODE", "sidecar"), choices=MODES)
    p.add_argument("--resolver-file", default=_env("RESOLVER_FILE"), help="YAML or JSON endpoints file")
    p.add_argument(
        "--default-inbound-policy", default=_env("DEFAULT_INBOUND_POLICY", "all-unauthenticated"), choices=POLICIES
    )
    p.add_argument("--inbound-app-host", default=_env("INBOUND_APP_HOST", "127.0.0.1"))
    p.add_argument("--opaque-ports", default=_env("OPAQUE_PORTS", ""))
    p.add_argument("--detect-timeout", default=_env("DETECT_TIMEOUT", "10"))
    p.add_argument("--resolve-timeout", default=_env("RESOLVE_TIMEOUT", "3"))
    p.add_argument("--connect-timeout", default=_env("CONNECT_TIMEOUT", "1"))
    p.add_argument("--request-timeout", default=_env("REQUEST_TIMEOUT", ""), help="default; empty = none")
    p.add_argument("--idle-timeout", default=_env("IDLE_TIMEOUT", "300"))
    p.add_argument("--head-timeout", default=_env("HEAD_TIMEOUT", "10"))
    p.add_argument("--shutdown-grace", default=_env("SHUTDOWN_GRACE", "30"))
    p.add_argument("--log-level", default=_env("LOG_LEVEL", "info"))
    p.add_argument("--trace-collector", default=_env("TRACE_COLLECTOR", ""), help="host:port of an OTLP/HTTP collector")
    a = p.parse_args(list(argv))
    try:
        opaque = parse_port_list(a.opaque_ports or "")
    except ValueError as e:
        raise ConfigError(f"--opaque-ports: {e}") from e
    for flag, value in (("--identity-addr", a.identity_addr), ("--destination-addr", a.destination_addr)):
        if value:
            split_address(value, flag)
    if a.identity_addr and not (a.identity_server_name and a.token_path and a.identity_name):
        raise ConfigError("--identity-addr needs --identity-server-name, --token-path and --identity-name")
    if a.destination_addr and not a.destination_server_name:
        raise ConfigError("--destination-addr needs --destination-server-name")
    return ProxySettings(
        inbound_addr=_addr(a.inbound_addr, "--inbound-addr"),
        outbound_addr=_addr(a.outbound_addr, "--outbound-addr"),
        admin_addr=_addr(a.admin_addr, "--admin-addr"),
        identity_dir=Path(a.identity_dir) if a.identity_dir else None,
        trust_bundle=Path(a.trust_bundle) if a.trust_bundle else None,
        identity_name=a.identity_name or None,
        token_path=Path(a.token_path) if a.token_path else None,
        identity_addr=a.identity_addr or None,
        identity_server_name=a.identity_server_name or None,
        destination_addr=a.destination_addr or None,
        destination_server_name=a.destination_server_name or None,
        pod_name=a.pod_name or None,
        pod_namespace=a.pod_namespace or None,
        cluster_networks=_networks(a.cluster_networks or ""),
        mode=a.mode,
        resolver_file=Path(a.resolver_file) if a.resolver_file else None,
        default_inbound_policy=a.default_inbound_policy,
        inbound_app_host=a.inbound_app_host,
        opaque_ports=opaque,
        detect_timeout=_seconds(a.detect_timeout, "--detect-timeout"),
        resolve_timeout=_seconds(a.resolve_timeout, "--resolve-timeout"),
        timeouts=Timeouts(
            request=_seconds(a.request_timeout, "--request-timeout") if a.request_timeout else None,
            connect=_seconds(a.connect_timeout, "--connect-timeout"),
            idle=_seconds(a.idle_timeout, "--idle-timeout"),
        ),
        head_timeout=_seconds(a.head_timeout, "--head-timeout"),
        shutdown_grace=_seconds(a.shutdown_grace, "--shutdown-grace"),
        log_level=a.log_level,
        trace_collector=split_address(a.trace_collector, "--trace-collector") if a.trace_collector else None,
    )
