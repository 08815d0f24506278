"""`meshfleet identity`: run the identity service until SIGTERM or SIGINT."""

from __future__ import annotations

import argparse
import logging
from datetime import timedelta
from pathlib import Path

from mesh.control._process import run_service, until_signalled
from mesh.pki import IdentityDomain
from mesh.pki.errors import IdentityNameError

from ._issuer_source import CA_FILE
from ._kubeapi import KubeApi, KubernetesEventPoster, KubernetesTokenReviewer, in_cluster_credentials, load_kubeconfig
from ._service import IdentityService, ServiceConfig
from ._tokenreview import CachingTokenReviewer
from .errors import ConfigError

log = logging.getLogger(__name__)


def _address(value: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit():
        raise argparse.ArgumentTypeError(f"{value!r} is not HOST:PORT")
    return host.strip("[]") or "0.0.0.0", int(port)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="meshfleet identity", description="Serve workload certificates over HTTPS.")
    p.add_argument("--listen", type=_address, default=("127.0.0.1", 8080), help="HTTPS address (certify)")
    p.add_argument("--admin-listen", type=_address, default=None, help="plain HTTP address for /metrics, probes")
    p.add_argument("--issuer-dir", type=Path, required=True, help="directory holding tls.crt, tls.key, ca.crt")
    p.add_argument("--trust-anchors", type=Path, default=None, help="anchor bundle (default: <issuer-dir>/ca.crt)")
    p.add_argument("--kubeconfig", type=Path, default=None, help="kubeconfig (default: in-cluster credentials)")
    p.add_argument("--context", default=None, help="kubeconfig context (default: current-context)")
    p.add_argument("--trust-domain", default="cluster.local")
    p.add_argument("--mesh-namespace", default="meshfleet")
    p.add_argument("--service-account", default="identity", help="this service's own ServiceAccount")
    p.add_argument("--namespace", default=None, help="this service's namespace (default: --mesh-namespace)")
    p.add_argument("--issuer-secret", default="identity-issuer", help="issuer Secret name, for Events")
    p.add_argument("--leaf-lifetime", type=float, default=86400.0, help="seconds (default 24 h)")
    p.add_argument("--rate", type=float, default=10.0, help="certificates per second per ServiceAccount")
    p.add_argument("--burst", type=int, default=50, help="burst per ServiceAccount")
    p.add_argument("--token-cache-seconds", type=float, default=10.0, help="cap on caching a positive TokenReview")
    p.add_argument("--poll-seconds", type=float, default=1.0, help="how often to re-read the issuer files")
    p.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    return p


async def _run(args: argparse.Namespace) -> int:
    creds = load_kubeconfig(args.kubeconfig, args.context) if args.kubeconfig else in_cluster_credentials()
    api = KubeApi(creds)
    domain = IdentityDomain(trust_domain=args.trust_domain, mesh_namespace=args.mesh_namespace)
    config = ServiceConfig(
        issuer_dir=args.issuer_dir,
        trust_anchors=args.trust_anchors or args.issuer_dir / CA_FILE,
        domain=domain,
        service_account=args.service_account,
        namespace=args.namespace,
        listen=args.listen,
        admin_listen=args.admin_listen,
        leaf_lifetime=timedelta(seconds=args.leaf_lifetime),
        rate_per_second=args.rate,
        rate_burst=args.burst,
        poll_interval=args.poll_seconds,
    )
    reviewer = CachingTokenReviewer(KubernetesTokenReviewer(api), max_ttl=args.token_cache_seconds)
    poster = KubernetesEventPoster(api, namespace=config.self_identity.namespace, secret=args.issuer_secret)
    service = IdentityService(config, reviewer, post_event=poster)
    try:
        await service.start()
        await until_signalled()
    finally:
        await service.stop()
        await api.close()
    return 0


def serve(argv: list[str]) -> int:
    """Entry point for `meshfleet identity ARGS`; returns the process exit status."""
    return run_service("identity", build_parser().parse_args(argv), _run, (ConfigError, IdentityNameError))