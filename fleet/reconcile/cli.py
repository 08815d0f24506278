"""Entry points: ``meshfleet reconcile | watch | diff | status | rollout pause|resume|status``.

Each takes its argument list and returns the exit code: 0 every cluster
converged (for ``diff``: nothing would change), 1 some cluster failed, is
unreachable or did not converge in time (``diff``: changes pending), 2 the
configuration is invalid or the command was used wrongly.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pygit2

from fleet.apply.diff import predict, unified
from fleet.config import Problem, load_fleet
from fleet.errors import ConfigError, InvalidConfig, SourceError
from fleet.kube.client import KubeClient
from fleet.kube.errors import KubeError
from fleet.kube.kubeconfig import default_kubeconfig_paths, load_access
from fleet.reconcile.engine import FleetReconciler
from fleet.reconcile.errors import RolloutStateError
from fleet.reconcile.mirrors import MirrorSupervisor, kubeconfig_credentials
from fleet.reconcile.model import ClusterState
from fleet.reconcile.progress import ProgressDisplay
from fleet.reconcile.rollout_state import RolloutStateFile, default_state_dir
from fleet.reconcile.server import create_app
from fleet.reconcile.status import STATUS_NAME, STATUS_NAMESPACE, entry_from_object, table
from fleet.reconcile.waves import Phase
from fleet.render import render_cluster
from fleet.source import DEFAULT_POLL_INTERVAL, GitSource, Snapshot, SourceWatcher, WebhookServer, load_webhook_secret

EXIT_OK, EXIT_FAILED, EXIT_INVALID = 0, 1, 2
_BAD = (ClusterState.FAILED, ClusterState.UNREACHABLE, ClusterState.DEGRADED)


def _common(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    parser.add_argument("--repo", default=".", metavar="PATH|URL", help="the fleet repository (default: .)")
    parser.add_argument("--branch", default="main", help="the branch to follow (default: main)")
    parser.add_argument("--kubeconfig", type=Path, action="append", metavar="PATH",
                        help="kubeconfig file (repeatable; default: $KUBECONFIG or ~/.kube/config)")
    parser.add_argument("--cache", type=Path, metavar="DIR", help="Git cache directory (default: XDG cache)")
    return parser


def _engine_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--concurrency", type=int, default=4, help="clusters reconciled at once (default 4)")
    parser.add_argument("--keystore", type=Path, metavar="DIR",
                        help="anchor keystore directory (default: $MESHFLEET_KEYSTORE)")
    parser.add_argument("--state-dir", type=Path, metavar="DIR",
                        help="rollout state directory (default: $XDG_STATE_HOME/meshfleet)")


def _source(args: argparse.Namespace) -> GitSource:
    return GitSource(args.repo, args.branch, cache=args.cache)


def _commit_time(source: GitSource, revision: str) -> datetime | None:
    try:
        commit: Any = pygit2.Repository(str(source.cache))[revision]
        return datetime.fromtimestamp(int(commit.commit_time), UTC)
    except (pygit2.GitError, KeyError, ValueError):
        return None


def _print_problems(command: str, revision: str, problems: tuple[Problem, ...]) -> None:
    for problem in problems:
        print(problem.format(), file=sys.stderr)
    print(f"meshfleet {command}: revision {revision[:12]} refused ({len(problems)} problems); "
          "no cluster was changed", file=sys.stderr)


def _engine(args: argparse.Namespace, display: ProgressDisplay | None) -> FleetReconciler:
    return FleetReconciler(kubeconfig=args.kubeconfig, concurrency=args.concurrency, keystore=args.keystore,
                           rollout_state=RolloutStateFile(args.state_dir or default_state_dir()), on_change=display)


# -- reconcile -----------------------------------------------------------------------------------------


def _reconcile_parser() -> argparse.ArgumentParser:
    p = _common(argparse.ArgumentParser(prog="meshfleet reconcile",
                                        description="Converge every cluster to the newest commit, wave by wave."))
    _engine_options(p)
    p.add_argument("--no-wait", action="store_true",
                   help="apply once and return; do not wait for clusters to become Ready")
    p.add_argument("--interval", type=float, default=2.0, help="seconds between health checks (default 2)")
    p.add_argument("--output", "-o", choices=("table", "json"), default="table")
    return p


async def _reconcile(args: argparse.Namespace) -> int:
    source = _source(args)
    snapshot = await source.sync_async()
    engine = _engine(args, ProgressDisplay(sys.stderr))
    try:
        problems = engine.load(snapshot.tree, snapshot.revision, _commit_time(source, snapshot.revision))
        if problems:
            _print_problems("reconcile", snapshot.revision, problems)
            return EXIT_INVALID
        while True:
            plan = engine.schedule()
            await engine.settle()
            plan = engine.schedule()
            assert plan is not None
            await engine.settle()
            if plan.phase is Phase.COMPLETE or plan.phase is Phase.HALTED or args.no_wait:
                break
            if plan.phase is Phase.PAUSED and not any(
                    engine.statuses[n].state in (ClusterState.APPLYING, ClusterState.PROGRESSING)
                    for n in plan.allowed):
                break
            await asyncio.sleep(args.interval)
        _report(engine, args.output)
        print(f"rollout: {plan.phase}: {plan.message}", file=sys.stderr)
        if plan.phase is Phase.COMPLETE:
            return EXIT_OK
        if args.no_wait and not any(s.state in _BAD for s in engine.statuses.values()):
            return EXIT_OK
        return EXIT_FAILED
    finally:
        await engine.close()


def _report(engine: FleetReconciler, output: str) -> None:
    doc = engine.document()
    print(json.dumps(doc, indent=2) if output == "json" else table(doc["clusters"]), end="\n" if output == "json"
          else "")


def reconcile_main(argv: list[str]) -> int:
    """``meshfleet reconcile``: one rollout of the newest commit; exit 0 all Ready, 1 not, 2 invalid."""
    args = _reconcile_parser().parse_args(argv)
    try:
        return asyncio.run(_reconcile(args))
    except (SourceError, ConfigError, RolloutStateError) as e:
        print(f"meshfleet reconcile: {e}", file=sys.stderr)
        return EXIT_INVALID if isinstance(e, ConfigError) else EXIT_FAILED


# -- watch ---------------------------------------------------------------------------------------------


def _watch_parser() -> argparse.ArgumentParser:
    p = _common(argparse.ArgumentParser(prog="meshfleet watch",
                                        description="Keep every cluster converged: poll Git, take webhooks, "
                                                    "correct drift, serve status and metrics, and mirror the "
                                                    "services linked clusters export."))
    _engine_options(p)
    p.add_argument("--poll", type=float, default=DEFAULT_POLL_INTERVAL, help="seconds between fetches (default 30)")
    p.add_argument("--resync", type=float, default=15.0,
                   help="seconds between passes over the clusters: health and drift (default 15)")
    p.add_argument("--listen", default="127.0.0.1:9400", metavar="HOST:PORT",
                   help="status, metrics and webhook address (default 127.0.0.1:9400)")
    p.add_argument("--webhook-secret-file", type=Path, help="shared secret for signed Git webhooks")
    p.add_argument("--status-file", type=Path, help="also write the status document to this file")
    return p


class _Watch:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.source = _source(args)
        self.engine = _engine(args, ProgressDisplay(sys.stderr))
        self.wake = asyncio.Event()
        self.mirrors = MirrorSupervisor(kubeconfig_credentials(args.kubeconfig or default_kubeconfig_paths()))

    async def on_revision(self, snapshot: Snapshot) -> None:
        problems = self.engine.load(snapshot.tree, snapshot.revision, _commit_time(self.source, snapshot.revision))
        if problems:
            _print_problems("watch", snapshot.revision, problems)
        else:
            print(f"meshfleet watch: revision {snapshot.revision[:12]} accepted", file=sys.stderr)
            assert self.engine.current is not None
            self.mirrors.update(self.engine.current.config)
        self.wake.set()

    def write_status(self) -> None:
        if self.args.status_file is not None:
            tmp = self.args.status_file.with_name(f".{self.args.status_file.name}.tmp")
            tmp.write_text(json.dumps(self.engine.document(), indent=2) + "\n")
            tmp.replace(self.args.status_file)

    async def loop(self) -> None:
        while True:
            self.wake.clear()
            self.engine.schedule()
            self.write_status()
            try:
                async with asyncio.timeout(self.args.resync):
                    await self.wake.wait()
            except TimeoutError:
                pass


async def watch(args: argparse.Namespace, stop: asyncio.Event, *, signals: bool = True) -> int:
    """Run the watcher until ``stop`` is set (by SIGTERM/SIGINT when ``signals``; SIGHUP forces a fetch)."""
    w = _Watch(args)
    watcher = SourceWatcher(w.source, w.on_revision, interval=args.poll)
    secret = load_webhook_secret(file=args.webhook_secret_file) if args.webhook_secret_file else None
    host, _, port = args.listen.rpartition(":")
    server = WebhookServer(create_app(w.engine.document, w.engine.metrics, secret, watcher.trigger),
                           host=host or "127.0.0.1", port=int(port))
    bound = await server.start()
    print(f"meshfleet watch: status on http://{host}:{bound}/status, metrics on /metrics", file=sys.stderr)
    if signals:
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGHUP, watcher.trigger)
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
    tasks = [asyncio.create_task(watcher.run()), asyncio.create_task(w.loop())]
    try:
        await stop.wait()
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await w.mirrors.close()
        await w.engine.close()
        await server.close()
    return EXIT_OK


def parse_watch_args(argv: list[str]) -> argparse.Namespace:
    return _watch_parser().parse_args(argv)


def watch_main(argv: list[str]) -> int:
    """``meshfleet watch``: run until SIGTERM/SIGINT; SIGHUP forces a fetch."""
    args = _watch_parser().parse_args(argv)
    try:
        return asyncio.run(watch(args, asyncio.Event()))
    except (SourceError, ConfigError, RolloutStateError, ValueError) as e:
        print(f"meshfleet watch: {e}", file=sys.stderr)
        return EXIT_INVALID


# -- diff ----------------------------------------------------------------------------------------------


def _diff_parser() -> argparse.ArgumentParser:
    p = _common(argparse.ArgumentParser(prog="meshfleet diff",
                                        description="What reconcile would change: a unified diff per object "
                                                    "per cluster, from server-side dry runs."))
    p.add_argument("--cluster", action="append", help="only this cluster (repeatable)")
    return p


async def _diff(args: argparse.Namespace) -> int:
    snapshot = await _source(args).sync_async()
    config = load_fleet(snapshot.tree, now=datetime.now(UTC))
    changes, failed = 0, 0
    for cluster in config.clusters:
        if args.cluster and cluster.name not in args.cluster:
            continue
        objects = render_cluster(config, cluster.name, snapshot.revision)
        try:
            async with KubeClient(load_access(cluster.kubeconfig_context, args.kubeconfig)) as client:
                predictions = await predict(client, objects)
        except KubeError as e:
            print(f"# {cluster.name}: {e}", file=sys.stderr)
            failed += 1
            continue
        for prediction in predictions:
            text = unified(prediction, cluster.name)
            if text:
                changes += 1
                sys.stdout.write(text)
    print(f"meshfleet diff: {changes} objects would change" + (f"; {failed} clusters unreachable" if failed else ""),
          file=sys.stderr)
    return EXIT_FAILED if changes or failed else EXIT_OK


def diff_main(argv: list[str]) -> int:
    """``meshfleet diff``: exit 0 nothing to change, 1 changes (or an unreachable cluster), 2 invalid config."""
    args = _diff_parser().parse_args(argv)
    try:
        return asyncio.run(_diff(args))
    except InvalidConfig as e:
        for problem in e.problems:
            print(problem.format(), file=sys.stderr)
        return EXIT_INVALID
    except (SourceError, ConfigError) as e:
        print(f"meshfleet diff: {e}", file=sys.stderr)
        return EXIT_INVALID


# -- status --------------------------------------------------------------------------------------------


def _status_parser() -> argparse.ArgumentParser:
    p = _common(argparse.ArgumentParser(prog="meshfleet status",
                                        description="Where each cluster stands, as each cluster records it."))
    p.add_argument("--output", "-o", choices=("table", "json"), default="table")
    return p


async def _read_entry(name: str, context: str, kubeconfig: list[Path] | None) -> dict[str, object]:
    try:
        async with KubeClient(load_access(context, kubeconfig), timeout=5.0) as client:
            entry = entry_from_object(await client.get("v1", "ConfigMap", STATUS_NAME, STATUS_NAMESPACE))
    except KubeError as e:
        return {"name": name, "reachable": False, "state": str(ClusterState.UNREACHABLE), "message": str(e),
                "targetRevision": "", "appliedRevision": "", "lastSync": None}
    if entry is None:
        return {"name": name, "reachable": True, "state": str(ClusterState.PENDING),
                "message": "never reconciled", "targetRevision": "", "appliedRevision": "", "lastSync": None}
    return entry


async def _status(args: argparse.Namespace) -> int:
    snapshot = await _source(args).sync_async()
    config = load_fleet(snapshot.tree, now=datetime.now(UTC))
    entries = await asyncio.gather(*(_read_entry(c.name, c.kubeconfig_context, args.kubeconfig)
                                     for c in config.clusters))
    if args.output == "json":
        print(json.dumps({"revision": snapshot.revision, "clusters": list(entries)}, indent=2))
    else:
        print(f"revision {snapshot.revision[:12]} of {args.branch}")
        print(table(entries), end="")
    converged = all(e["state"] == ClusterState.READY and e.get("appliedRevision") == snapshot.revision
                    for e in entries)
    return EXIT_OK if converged else EXIT_FAILED


def status_main(argv: list[str]) -> int:
    """``meshfleet status``: exit 0 when every cluster is Ready at the branch's newest commit."""
    args = _status_parser().parse_args(argv)
    try:
        return asyncio.run(_status(args))
    except InvalidConfig as e:
        for problem in e.problems:
            print(problem.format(), file=sys.stderr)
        return EXIT_INVALID
    except (SourceError, ConfigError) as e:
        print(f"meshfleet status: {e}", file=sys.stderr)
        return EXIT_INVALID


# -- rollout -------------------------------------------------------------------------------------------


def rollout_main(argv: list[str]) -> int:
    """``meshfleet rollout pause|resume|status``: no new wave starts while paused; resume also lifts a halt."""
    p = argparse.ArgumentParser(prog="meshfleet rollout", description="Pause or resume the wave rollout.")
    p.add_argument("action", choices=("pause", "resume", "status"))
    p.add_argument("--state-dir", type=Path, metavar="DIR",
                   help="rollout state directory (default: $XDG_STATE_HOME/meshfleet)")
    args = p.parse_args(argv)
    state_file = RolloutStateFile(args.state_dir or default_state_dir())
    try:
        state = state_file.load() if args.action == "status" else state_file.set_paused(args.action == "pause")
    except RolloutStateError as e:
        print(f"meshfleet rollout: {e}", file=sys.stderr)
        return EXIT_FAILED
    what = "paused" if state.paused else "running"
    halted = f"; halted: {state.halted}" if state.halted else ""
    print(f"rollout {what}{halted} (state in {state_file.path})")
    return EXIT_OK
