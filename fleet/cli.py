"""The ``meshfleet`` command.

Subcommands import what they need only when they run: ``meshfleet proxy``
runs in every pod, and must not pay for the fleet manager's imports.
Exit codes: 0 success, 1 a failure at run time, 2 a usage or configuration error.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Callable, Sequence

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2

# Subcommands whose own modules parse their arguments: name -> (module, function, help).
_DELEGATED: dict[str, tuple[str, str, str]] = {
    "up": ("fleet.quickstart", "up_main", "the local fleet, the example fleet reconciled from Git, the dashboard"),
    "reconcile": ("fleet.reconcile.cli", "reconcile_main", "converge every cluster to the repository once"),
    "watch": ("fleet.reconcile.cli", "watch_main", "keep every cluster converged (poll, webhook, SIGHUP)"),
    "diff": ("fleet.reconcile.cli", "diff_main", "what a reconcile would change, per object per cluster"),
    "status": ("fleet.reconcile.cli", "status_main", "where each cluster stands: revision, health, drift"),
    "rollout": ("fleet.reconcile.cli", "rollout_main", "pause or resume the rollout across waves"),
    "validate": ("fleet.config", "validate_main", "check a fleet repository (a directory or a Git revision)"),
    "tui": ("tui", "tui_main", "the fleet-wide dashboard of health and golden metrics"),
    "destination": ("mesh.control.destination", "destination_main", "a cluster's destination service (endpoints, "
                    "routes and policy for proxies)"),
    "injector": ("mesh.control.injector", "injector_main", "a cluster's proxy-injector admission webhook"),
    "mirror": ("mesh.control.mirror", "main", "mirror a linked cluster's exported services behind its gateway "
               "(watch runs one per link)"),
    "identity": ("mesh.control.identity", "serve", "run a cluster's identity service (certificates for proxies)"),
    "podlet": ("fleet.local.podlet.cli", "podlet_main", "the local fleet's node agent (started by local up)"),
    "demo-app": ("mesh.demo", "demo_main", "the demo HTTP service used by examples, tests and benchmarks"),
    "proxy": ("mesh.proxy", "run_proxy", "the sidecar proxy (runs in every meshed pod)"),
    "proxy-init": ("mesh.proxy", "run_proxy_init", "install the proxy's iptables interception rules in this netns"),
    "trust": ("fleet.trust.cli", "trust_main", "the fleet's trust anchors and per-cluster issuers"),
}


def _progress(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _count(text: str) -> int:
    from fleet.local.topology import TopologyError, parse_count

    try:
        return parse_count(text)
    except TopologyError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def _nodes(text: str) -> int:
    from fleet.local.topology import TopologyError, parse_nodes

    try:
        return parse_nodes(text)
    except TopologyError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def _names(text: str) -> tuple[str, ...]:
    from fleet.local.topology import TopologyError, plan

    names = tuple(n.strip() for n in text.split(",") if n.strip())
    try:
        plan(names)
    except TopologyError as e:
        raise argparse.ArgumentTypeError(str(e)) from None
    if not names:
        raise argparse.ArgumentTypeError("--names needs at least one cluster name")
    return names


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="meshfleet", description="A service mesh and the GitOps fleet manager "
                                "that runs it.")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    local = sub.add_parser("local", help="a local fleet of real Kubernetes control planes on this machine")
    lsub = local.add_subparsers(dest="local_command", metavar="ACTION")
    lsub.required = True
    up = lsub.add_parser("up", help="start the local fleet (reusing clusters that are already healthy)")
    group = up.add_mutually_exclusive_group()
    group.add_argument("--clusters", type=_count, default=3, metavar="N", help="how many clusters (default 3)")
    group.add_argument("--names", type=_names, metavar="A,B,...", help="cluster names instead of a count")
    up.add_argument("--nodes", type=_nodes, metavar="N",
                    help="nodes (podlets) per cluster, each with its own pod range (default 1); a running "
                         "cluster has its podlets started or stopped to match")
    up.add_argument("--no-podlets", action="store_true",
                    help="control planes only: no node agent, so pods are scheduled but never run")
    down = lsub.add_parser("down", help="stop every process of the local fleet and remove its state")
    down.add_argument("--keep", action="store_true", help="keep state (PKI, etcd data, logs) for the next up")
    status = lsub.add_parser("status", help="where each local cluster stands")
    status.add_argument("--output", "-o", choices=("table", "json"), default="table")
    logs = lsub.add_parser("logs", help="a container's log: logs <cluster> <namespace>/<pod> [-c C] [-f]",
                           add_help=False)
    logs.add_argument("args", nargs=argparse.REMAINDER)
    kc = lsub.add_parser("kubeconfig", help="print the path of the merged kubeconfig, or of one cluster's")
    kc.add_argument("cluster", nargs="?")

    for name, (_, _, help_text) in _DELEGATED.items():
        d = sub.add_parser(name, help=help_text, add_help=False)
        d.add_argument("args", nargs=argparse.REMAINDER)
    return p


def _local(args: argparse.Namespace) -> int:
    from fleet.local.errors import LocalFleetError
    from fleet.local.fleet import LocalFleet, status_json, status_table
    from fleet.local.state import default_state_dir
    from fleet.local.topology import default_names

    try:
        podlets = args.local_command == "up" and not args.no_podlets
        if podlets and os.geteuid() != 0:
            _progress("not root: starting control planes only (the podlet needs root for network and mount "
                      "namespaces, so pods will not run); run as root, or pass --no-podlets to silence this")
            podlets = False
        nodes = args.nodes if args.local_command == "up" else None
        if args.local_command == "up" and args.no_podlets and nodes is not None:
            _progress("--nodes has no effect with --no-podlets: nodes are what the podlets run")
        fleet = LocalFleet(default_state_dir(), _progress, podlets=podlets, nodes=nodes)
        if args.local_command == "up":
            names = args.names or default_names(args.clusters)
            rows = asyncio.run(fleet.up(names))
            print(status_table(rows))
            print(_usage_hint(str(fleet.kubeconfig_path())))
            return EXIT_OK
        if args.local_command == "down":
            asyncio.run(fleet.down(keep=args.keep))
            return EXIT_OK
        if args.local_command == "status":
            rows = asyncio.run(fleet.status_async())
            print(status_json(rows) if args.output == "json" else status_table(rows) if rows
                  else "no local fleet is running (start one with: meshfleet local up)")
            return EXIT_OK if all(r.ready for r in rows) else EXIT_FAILED
        if args.local_command == "kubeconfig":
            print(fleet.kubeconfig_path(args.cluster))
            return EXIT_OK
    except LocalFleetError as e:
        print(f"meshfleet local {args.local_command}: {e}", file=sys.stderr)
        return EXIT_FAILED
    raise AssertionError(args.local_command)


def _usage_hint(kubeconfig: str) -> str:
    return (
        "\nThe local fleet is up. Each cluster is a context in one kubeconfig:\n"
        f"  export KUBECONFIG={kubeconfig}\n"
        "  meshfleet local status            # health, ports, processes\n"
        "  meshfleet local kubeconfig east   # one cluster's kubeconfig\n"
        "  meshfleet local down              # stop it all\n"
    )


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in _DELEGATED:
        module, func, _ = _DELEGATED[argv[0]]
        entry: Callable[[list[str]], int] = getattr(__import__(module, fromlist=[func]), func)
        return entry(argv[1:])
    if argv[:2] == ["local", "logs"]:  # its own parser, like the delegated commands
        from fleet.local.podlet.cli import logs_main

        return logs_main(argv[2:])
    args = _parser().parse_args(argv)
    if args.command == "local":
        return _local(args)
    raise AssertionError(args.command)


if __name__ == "__main__":
    sys.exit(main())
