"""`meshfleet mirror`: mirror the exported Services of one linked cluster until SIGTERM or SIGINT."""

from __future__ import annotations

import argparse
from pathlib import Path

from mesh.control._process import run_service, until_signalled
from mesh.control.identity import in_cluster_credentials
from mesh.control.identity.errors import ConfigError as KubeConfigError

from ._run import credentials, run_until
from .errors import ConfigError


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="meshfleet mirror",
        description="Mirror the exported Services of a linked cluster into this one, behind its gateway.",
    )
    p.add_argument("--kubeconfig", type=Path, default=None,
                   help="this (local) cluster's kubeconfig (default: in-cluster credentials)")
    p.add_argument("--context", default=None, help="context of --kubeconfig")
    p.add_argument("--remote-kubeconfig", type=Path, required=True, help="the linked (target) cluster's kubeconfig")
    p.add_argument("--remote-context", default=None, help="context of --remote-kubeconfig")
    p.add_argument("--link", required=True, help="name of the Link object in the mesh namespace")
    p.add_argument("--mesh-namespace", default="meshfleet", help="holds the Link here and the gateway there")
    p.add_argument("--resync", type=float, default=10.0, help="seconds between full replans")
    p.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    return p


async def _run(args: argparse.Namespace) -> int:
    if args.kubeconfig is not None:
        local = credentials(args.kubeconfig, args.context, "local")
    else:
        try:
            local = in_cluster_credentials()
        except KubeConfigError as e:
            raise ConfigError(f"local cluster: {e}") from e
    remote = credentials(args.remote_kubeconfig, args.remote_context, "remote")
    await run_until(local, remote, args.link, args.mesh_namespace, until_signalled(), resync=args.resync)
    return 0


def main(argv: list[str]) -> int:
    """Entry point for `meshfleet mirror ARGS`; returns the process exit status (2: unusable configuration)."""
    return run_service("mirror", build_parser().parse_args(argv), _run, (ConfigError,))
