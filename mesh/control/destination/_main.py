"""`meshfleet destination`: serve endpoints, routes and policy to proxies until SIGTERM or SIGINT."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ipaddress
import logging
from pathlib import Path

from mesh.control._process import run_service, until_signalled
from mesh.control.identity import in_cluster_credentials, load_kubeconfig
from mesh.control.identity.errors import ConfigError as KubeConfigError
from mesh.identity_client import ClientConfig as IdentityClientConfig
from mesh.identity_client import IdentityClient
from mesh.identity_client.errors import ConfigError as IdentityConfigError
from mesh.pki import IdentityDomain, WorkloadIdentity
from mesh.pki.errors import IdentityNameError
from mesh.policy import DefaultPolicy, Network
from mesh.policy.errors import InvalidPolicyObject

from ._compute import MeshSettings
from ._kube import KubeReader
from ._service import DestinationService, ServiceConfig
from .errors import ConfigError

log = logging.getLogger(__name__)

DEFAULT_TRUST_BUNDLE = Path("/var/run/meshfleet/trust/ca-bundle.crt")
DEFAULT_IDENTITY_DIR = Path("/var/run/meshfleet/identity")
DEFAULT_TOKEN = Path("/var/run/secrets/meshfleet.io/identity/token")


def _address(value: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit() or int(port) > 65535:
        raise argparse.ArgumentTypeError(f"{value!r} is not HOST:PORT")
    return host.strip("[]") or "0.0.0.0", int(port)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="meshfleet destination", description="Stream endpoints and policy to proxies.")
    p.add_argument("--listen", type=_address, default=("127.0.0.1", 8086), help="mTLS stream address")
    p.add_argument("--admin-listen", type=_address, default=None, help="plain HTTP address for /metrics, probes")
    p.add_argument("--trust-domain", default="cluster.local")
    p.add_argument("--mesh-namespace", default="meshfleet")
    p.add_argument("--cluster-name", default="", help="for logs and metrics")
    p.add_argument("--cluster-domain", default="cluster.local", help="Service DNS suffix after .svc")
    p.add_argument("--default-inbound-policy", default="all-unauthenticated", choices=[d.value for d in DefaultPolicy])
    p.add_argument("--cluster-networks", default="", help="comma-separated CIDRs for cluster-authenticated")
    p.add_argument("--kubeconfig", type=Path, default=None, help="kubeconfig (default: in-cluster credentials)")
    p.add_argument("--context", default=None)
    p.add_argument("--trust-bundle", type=Path, default=DEFAULT_TRUST_BUNDLE, help="PEM trust anchors")
    p.add_argument("--identity-dir", type=Path, default=DEFAULT_IDENTITY_DIR, help="holds cert.pem and key.pem")
    p.add_argument("--identity-addr", type=_address, default=None, help="identity service; omit to use files only")
    p.add_argument("--identity-server-name", default=None, help="identity service's mesh identity")
    p.add_argument("--token-path", type=Path, default=DEFAULT_TOKEN, help="projected token for the identity service")
    p.add_argument("--service-account", default="destination", help="this service's own ServiceAccount")
    p.add_argument("--namespace", default=None, help="this service's namespace (default: --mesh-namespace)")
    p.add_argument("--heartbeat", type=float, default=10.0, help="seconds between heartbeats on idle streams")
    p.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    return p


def _networks(text: str) -> tuple[Network, ...]:
    out = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        try:
            out.append(Network(str(ipaddress.ip_network(part, strict=False))))
        except ValueError as e:
            raise ConfigError(f"--cluster-networks: {part!r} is not a CIDR") from e
    return tuple(out)


def _reload(service: DestinationService) -> None:
    service.tls.reload()


async def _run(args: argparse.Namespace) -> int:
    domain = IdentityDomain(trust_domain=args.trust_domain, mesh_namespace=args.mesh_namespace)
    settings = MeshSettings(
        identity_suffix=domain.dns_suffix,
        cluster_domain=args.cluster_domain,
        default_policy=DefaultPolicy.parse(args.default_inbound_policy, "--default-inbound-policy"),
        cluster_networks=_networks(args.cluster_networks),
    )
    creds = load_kubeconfig(args.kubeconfig, args.context) if args.kubeconfig else in_cluster_credentials()
    kube = KubeReader(creds)
    config = ServiceConfig(
        settings=settings,
        identity_dir=args.identity_dir,
        trust_bundle=args.trust_bundle,
        listen=args.listen,
        admin_listen=args.admin_listen,
        heartbeat=args.heartbeat,
    )
    service = DestinationService(config, kube)
    identity_task: asyncio.Task[None] | None = None
    if args.identity_addr is not None:
        me = WorkloadIdentity(args.namespace or args.mesh_namespace, args.service_account, domain)
        server_name = args.identity_server_name or WorkloadIdentity(args.mesh_namespace, "identity", domain).dns_name
        client = IdentityClient(
            IdentityClientConfig(
                identity=me,
                address=args.identity_addr,
                server_name=server_name,
                token_file=args.token_path,
                trust_bundle_file=args.trust_bundle,
                directory=args.identity_dir,
            ),
            service.metrics.registry,  # served on the admin port: rotation reads which anchor the leaf is under
            on_certificate=lambda _: _reload(service),
        )
        client.start()
        identity_task = asyncio.create_task(client.run(), name="destination-identity")
    try:
        await service.start()
        await until_signalled()
    finally:
        await service.stop()
        if identity_task is not None:
            identity_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await identity_task
        await kube.close()
    return 0


def destination_main(argv: list[str]) -> int:
    """Entry point for `meshfleet destination ARGS`; returns the process exit status."""
    config_errors = (ConfigError, KubeConfigError, IdentityConfigError, IdentityNameError, InvalidPolicyObject)
    return run_service("destination", build_parser().parse_args(argv), _run, config_errors)