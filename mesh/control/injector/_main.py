"""`meshfleet injector`: the mutating admission webhook, until SIGTERM or SIGINT."""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

from mesh.control._process import run_service, until_signalled
from mesh.control.identity import in_cluster_credentials, load_kubeconfig
from mesh.control.identity.errors import ConfigError as KubeConfigError

from ._bundle_copies import BundleScope
from ._bundle_sync import TrustBundleSync
from ._config import load_config
from ._kube import KubeClient
from ._service import InjectorService, ServiceConfig
from .errors import ConfigError


def _address(value: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit() or int(port) > 65535:
        raise argparse.ArgumentTypeError(f"{value!r} is not HOST:PORT")
    return host.strip("[]") or "0.0.0.0", int(port)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="meshfleet injector", description="Add the proxy to pods that ask for it.")
    p.add_argument("--listen", type=_address, default=("127.0.0.1", 8443), help="HTTPS webhook address")
    p.add_argument("--admin-listen", type=_address, default=None, help="plain HTTP address for /metrics, probes")
    p.add_argument("--tls-dir", type=Path, required=True, help="directory with tls.crt and tls.key")
    p.add_argument("--proxy-config", type=Path, required=True, help="the proxy configuration JSON")
    p.add_argument("--trust-domain", default=None, help="overrides the proxy configuration's trustDomain")
    p.add_argument("--mesh-namespace", default=None, help="overrides the proxy configuration's meshNamespace")
    p.add_argument("--kubeconfig", type=Path, default=None, help="kubeconfig (default: in-cluster credentials)")
    p.add_argument("--context", default=None)
    p.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    return p


async def _run(args: argparse.Namespace) -> int:
    proxy = load_config(args.proxy_config)
    if args.trust_domain:
        proxy = replace(proxy, trust_domain=args.trust_domain)
    if args.mesh_namespace:
        proxy = replace(proxy, mesh_namespace=args.mesh_namespace)
    creds = load_kubeconfig(args.kubeconfig, args.context) if args.kubeconfig else in_cluster_credentials()
    kube = KubeClient(creds)
    bundles = TrustBundleSync(kube, BundleScope(proxy.mesh_namespace, proxy.trust_bundle_configmap))
    service = InjectorService(ServiceConfig(proxy, args.tls_dir, args.listen, args.admin_listen), kube, bundles=bundles)
    try:
        await service.start()
        await until_signalled()
    finally:
        await service.stop()
        await kube.close()
    return 0


def injector_main(argv: list[str]) -> int:
    """Entry point for `meshfleet injector ARGS`; returns the process exit status."""
    return run_service("injector", build_parser().parse_args(argv), _run, (ConfigError, KubeConfigError))