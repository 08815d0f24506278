"""The proxy's clients of the control plane, built from its settings.

    identity     key + CSR + projected token -> leaf from the identity service, written into
                 the identity directory, where ``FileIdentitySource`` picks it up; renewed
                 at 70 % of its life; trust bundle reloads announced the same way
    destination  one mTLS stream: endpoints, routes and breaker settings per target
                 (the proxy's ``Resolver``) plus this pod's inbound policy

Only construction lives here; both clients are asyncio tasks the proxy runs.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable

from prometheus_client import CollectorRegistry

from mesh.destination_client import ClientConfig as DestinationConfig
from mesh.destination_client import DestinationClient
from mesh.identity_client import ClientConfig as IdentityConfig
from mesh.identity_client import Credentials, IdentityClient
from mesh.pki import IdentityDomain, WorkloadIdentity
from mesh.pki.errors import PKIError

from .errors import ConfigError
from .services import split_address
from .settings import ProxySettings

_MARK = ".serviceaccount.identity."


def workload_identity(name: str) -> WorkloadIdentity:
    """``<sa>.<ns>.serviceaccount.identity.<mesh-ns>.<trust-domain>`` as a value; errors name the flag."""
    _head, sep, tail = name.partition(_MARK)
    mesh_namespace, dot, trust_domain = tail.partition(".")
    if not sep or not dot:
        raise ConfigError(f"--identity-name: {name!r} is not <sa>.<ns>{_MARK}<mesh-namespace>.<trust-domain>")
    try:
        return WorkloadIdentity.parse_dns(name, IdentityDomain(trust_domain, mesh_namespace))
    except PKIError as e:
        raise ConfigError(f"--identity-name: {e}") from e


def identity_client(
    settings: ProxySettings, registry: CollectorRegistry, on_certificate: Callable[[Credentials], None]
) -> IdentityClient | None:
    """The identity client when an identity service is configured, else None (certificates come as files)."""
    if settings.identity_addr is None:
        return None
    if settings.identity_dir is None or settings.trust_bundle is None or settings.token_path is None:
        raise ConfigError("--identity-addr needs --identity-dir, --trust-bundle and --token-path")
    # parse_settings refuses an identity address without these.
    assert settings.identity_name is not None
    assert settings.identity_server_name is not None
    config = IdentityConfig(
        identity=workload_identity(settings.identity_name),
        address=split_address(settings.identity_addr, "--identity-addr"),
        server_name=settings.identity_server_name,
        token_file=settings.token_path,
        trust_bundle_file=settings.trust_bundle,
        directory=settings.identity_dir,
    )
    return IdentityClient(config, registry, on_certificate=on_certificate)


def destination_client(settings: ProxySettings, tls: Callable[[], ssl.SSLContext | None]) -> DestinationClient | None:
    """The destination client when a destination service is configured, else None."""
    if settings.destination_addr is None:
        return None
    assert settings.destination_server_name is not None  # parse_settings refuses it missing
    pod = None
    if settings.pod_namespace and settings.pod_name:
        pod = (settings.pod_namespace, settings.pod_name)
    config = DestinationConfig(
        address=split_address(settings.destination_addr, "--destination-addr"),
        server_name=settings.destination_server_name,
        pod=pod,
        default_timeouts=settings.timeouts,
    )
    return DestinationClient(config, tls)
