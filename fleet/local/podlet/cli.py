"""Entry points: ``meshfleet podlet`` (run a node) and ``meshfleet local logs`` (read a container's log)."""

from __future__ import annotations

import argparse
import asyncio
import shlex
import signal
import sys
import time
from pathlib import Path

from fleet.local.podlet.errors import PodletError


def _progress(msg: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} podlet: {msg}", file=sys.stderr, flush=True)


def _podlet_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="meshfleet podlet",
                                description="Run the node agent of one local cluster (needs root).")
    p.add_argument("cluster", help="the local cluster's name")
    p.add_argument("--node", help="node name (default <cluster>-node-1)")
    p.add_argument("--state-dir", type=Path, help="the local fleet's state directory")
    p.add_argument("--cluster-dir", type=Path, help="the cluster's directory (instead of reading fleet.json)")
    p.add_argument("--apiserver-port", type=int, help="the cluster's apiserver port on 127.0.0.1")
    p.add_argument("--service-cidr", help="the cluster's service range")
    p.add_argument("--entrypoint", help="command line that stands for 'meshfleet' in pods "
                                        "(default: this Python running fleet.cli)")
    p.add_argument("--image-pattern", help="regular expression for the image repositories the podlet runs "
                                           "(default: any repository whose last part is 'meshfleet')")
    return p


def podlet_main(argv: list[str]) -> int:
    """``meshfleet podlet <cluster>``: run until SIGTERM; 0 on a clean stop, 1 on failure."""
    from fleet.local.errors import LocalFleetError
    from fleet.local.podlet.agent import Podlet, PodletConfig, default_node_name
    from fleet.local.podlet.podenv import ImageMatch
    from fleet.local.state import FleetState, default_state_dir
    from fleet.local.topology import ClusterPlan

    args = _podlet_parser().parse_args(argv)
    try:
        if args.cluster_dir and args.apiserver_port and args.service_cidr:
            cluster_dir, port, service_cidr = args.cluster_dir, args.apiserver_port, args.service_cidr
        else:
            state = FleetState.load(args.state_dir or default_state_dir())
            rec = state.clusters.get(args.cluster)
            if rec is None:
                print(f"meshfleet podlet: no local cluster named {args.cluster!r}", file=sys.stderr)
                return 2
            cluster_dir = state.cluster_paths(args.cluster).root
            port, service_cidr = rec.ports.apiserver, ClusterPlan(rec.name, rec.index).service_cidr
        cfg = PodletConfig(args.cluster, args.node or default_node_name(args.cluster), cluster_dir, port,
                           service_cidr)
        if args.entrypoint:
            cfg = PodletConfig(cfg.cluster, cfg.node, cfg.cluster_dir, cfg.apiserver_port, cfg.service_cidr,
                               tuple(shlex.split(args.entrypoint)), cfg.images)
        if args.image_pattern:
            cfg = PodletConfig(cfg.cluster, cfg.node, cfg.cluster_dir, cfg.apiserver_port, cfg.service_cidr,
                               cfg.entrypoint, ImageMatch(args.image_pattern))
    except LocalFleetError as e:
        print(f"meshfleet podlet: {e}", file=sys.stderr)
        return 2

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await Podlet(cfg, _progress).run(stop)

    try:
        asyncio.run(run())
    except PodletError as e:
        print(f"meshfleet podlet: {e}", file=sys.stderr)
        return 1
    return 0


def _logs_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="meshfleet local logs", description="Print a container's log.")
    p.add_argument("cluster")
    p.add_argument("pod", metavar="NAMESPACE/POD")
    p.add_argument("-c", "--container")
    p.add_argument("-f", "--follow", action="store_true")
    p.add_argument("--state-dir", type=Path)
    return p


def find_log(cluster_dir: Path, namespace: str, pod: str, container: str | None) -> Path:
    """The log file of a container, found under any node of the cluster."""
    dirs = sorted(cluster_dir.glob(f"podlet/*/logs/{namespace}/{pod}"))
    if not dirs:
        raise PodletError(f"no logs for pod {namespace}/{pod} in cluster {cluster_dir.name}")
    logs = sorted(p for d in dirs for p in d.glob("*.log"))
    if container is None:
        if len(logs) == 1:
            return logs[0]
        names = ", ".join(p.stem for p in logs)
        raise PodletError(f"pod {namespace}/{pod} has several containers ({names}): choose one with -c")
    for p in logs:
        if p.stem == container:
            return p
    raise PodletError(f"pod {namespace}/{pod} has no container {container!r} "
                      f"(it has {', '.join(p.stem for p in logs) or 'none'})")


def logs_main(argv: list[str]) -> int:
    """``meshfleet local logs <cluster> <namespace>/<pod> [-c container] [-f]``."""
    from fleet.local.state import FleetState, default_state_dir

    args = _logs_parser().parse_args(argv)
    namespace, _, pod = args.pod.rpartition("/")
    namespace = namespace or "default"
    state = FleetState(args.state_dir or default_state_dir())
    try:
        path = find_log(state.cluster_paths(args.cluster).root, namespace, pod, args.container)
    except PodletError as e:
        print(f"meshfleet local logs: {e}", file=sys.stderr)
        return 1
    with path.open("rb") as f:
        while True:
            chunk = f.read(65536)
            if chunk:
                sys.stdout.buffer.write(chunk)
                sys.stdout.buffer.flush()
                continue
            if not args.follow:
                return 0
            try:
                time.sleep(0.3)
            except KeyboardInterrupt:
                return 0
