"""``meshfleet up``: the embedded default, end to end on this machine.

1. Start the local fleet: one real control plane (and, as root, a podlet) per cluster of the
   example fleet in this repository.
2. Give it a fleet repository of its own: a Git copy of the example fleet, anchored afresh
   (the example's committed anchor has no key anywhere), with a post-commit hook that signs a
   webhook to the watcher so a commit converges at once.
3. Run ``meshfleet watch`` on that repository in the background, wait until every cluster is
   Ready at the newest commit, and open the TUI on the watcher's status.

Everything lives under the local fleet's state directory; ``meshfleet local down`` stops the
watcher with the clusters.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import shutil
import socket
import sys
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pygit2

from fleet.config import DirectoryTree, check_fleet
from fleet.errors import FleetError
from fleet.local import process
from fleet.local.errors import LocalFleetError
from fleet.local.fleet import LocalFleet, status_table
from fleet.local.state import default_state_dir
from fleet.trust.cli import init as trust_init
from fleet.trust.keystore import Keystore

EXAMPLE = Path(__file__).resolve().parent.parent  # the repository this package came from
COPIED = ("fleet.yaml", "clusters", "trust-anchors/README.md", "apps")
WATCH_PORT = 9400


def _say(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _commit_all(repo: pygit2.Repository, message: str) -> str:
    repo.index.add_all()
    repo.index.write()
    tree = repo.index.write_tree()
    sig = pygit2.Signature("meshfleet", "meshfleet@localhost")
    parents = [] if repo.head_is_unborn else [repo.head.target]
    oid = repo.create_commit("HEAD", sig, sig, message, tree, parents)
    return str(oid)


HOOK = """#!/bin/sh
# Tell the local meshfleet watcher about this commit now instead of at its next poll.
exec "{python}" -m fleet.source.notify "{url}" "{secret}" >/dev/null 2>&1 || true
"""


def prepare_repository(root: Path, keystore: Keystore, example: Path, webhook_url: str, secret_file: Path) -> Path:
    """A Git copy of the example fleet with a fresh anchor; an existing one is kept as the user left it."""
    repo_dir = root / "fleet-repo"
    if (repo_dir / ".git").exists():
        return repo_dir
    repo_dir.mkdir(parents=True, exist_ok=True)
    for name in COPIED:
        src, dst = example / name, repo_dir / name
        if src.is_dir():
            shutil.copytree(src, dst)
        elif src.is_file():
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dst)
    repo = pygit2.init_repository(str(repo_dir), initial_head="main")
    trust_init(repo_dir, keystore, common_name="meshfleet local fleet trust anchor",
               lifetime=timedelta(days=3650), now=datetime.now(UTC))
    _commit_all(repo, "The example fleet, anchored for this machine")
    hook = repo_dir / ".git" / "hooks" / "post-commit"
    hook.write_text(HOOK.format(python=sys.executable, url=webhook_url, secret=secret_file))
    hook.chmod(0o755)
    return repo_dir


def _secret_file(root: Path) -> Path:
    f = root / "webhook.secret"
    if not f.exists():
        fd = os.open(f, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_hex(32))
    return f


def _watch_running(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def start_watcher(fleet: LocalFleet, root: Path, repo_dir: Path, keystore: Keystore, secret_file: Path,
                  port: int) -> None:
    known = fleet.state.services.get("watch")
    if known is not None and process.alive(known) and _watch_running(port):
        return
    argv = [sys.executable, "-m", "fleet.cli", "watch", "--repo", str(repo_dir), "--branch", "main",
            "--kubeconfig", str(fleet.kubeconfig_path()), "--keystore", str(keystore.path),
            "--state-dir", str(root / "rollout"), "--cache", str(root / "git-cache"),
            "--listen", f"127.0.0.1:{port}", "--poll", "10", "--resync", "5",
            "--webhook-secret-file", str(secret_file), "--status-file", str(root / "status.json")]
    rec = process.spawn(argv, root / "watch.log", "watch")
    fleet.add_service("watch", rec)
    deadline = time.monotonic() + 30
    while not _watch_running(port):
        if not process.alive(rec) or time.monotonic() > deadline:
            raise LocalFleetError(f"meshfleet watch did not start; last lines of {root / 'watch.log'}:\n"
                                  f"{process.tail(root / 'watch.log')}")
        time.sleep(0.2)


def wait_converged(url: str, head: str, limit: float) -> bool:
    """Print each cluster's state as it changes; True once all are Ready at ``head``."""
    seen: dict[str, str] = {}
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                doc = json.load(r)
        except (urllib.error.URLError, OSError, ValueError):
            time.sleep(0.5)
            continue
        clusters = doc.get("clusters", [])
        for c in clusters:
            line = f"{c['state']} {str(c.get('appliedRevision') or '-')[:12]} {c.get('message') or ''}"
            if seen.get(c["name"]) != line:
                seen[c["name"]] = line
                _say(f"  {c['name']:<8} {line}")
        if clusters and all(c["state"] == "Ready" and c.get("appliedRevision") == head for c in clusters):
            return True
        time.sleep(0.5)
    return False


def up_main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="meshfleet up", description="Bring up the local fleet, reconcile the "
                                "example fleet from its own Git repository, and open the dashboard.")
    p.add_argument("--no-tui", action="store_true", help="stop after convergence instead of opening the TUI")
    p.add_argument("--timeout", type=float, default=300.0, help="seconds to wait for convergence (default 300)")
    p.add_argument("--port", type=int, default=WATCH_PORT, help="the watcher's status/webhook port (default 9400)")
    args = p.parse_args(argv)
    root = default_state_dir()
    cfg, problems = check_fleet(DirectoryTree(EXAMPLE), now=datetime.now(UTC))
    if cfg is None:
        for problem in problems:
            _say(problem.format())
        return 2
    podlets = os.geteuid() == 0
    if not podlets:
        _say("not root: control planes only (the podlet needs root), so the mesh is applied but pods do not run")
    try:
        fleet = LocalFleet(root, _say, podlets=podlets)
        rows = asyncio.run(fleet.up(cfg.cluster_names))
        print(status_table(rows))
        for row in rows:
            want = cfg.cluster(row.name).prometheus
            if row.prometheus and want and row.prometheus.rstrip("/") != want.rstrip("/"):
                _say(f"warning: {row.name}'s Prometheus listens on {row.prometheus}, not {want} as "
                     f"clusters/{row.name}.yaml says (the port was taken); the TUI will show it unreachable")
        keystore = Keystore(root / "keystore")
        secret_file = _secret_file(root)
        url = f"http://127.0.0.1:{args.port}"
        repo_dir = prepare_repository(root, keystore, EXAMPLE, f"{url}/hooks/git", secret_file)
        head = str(pygit2.Repository(str(repo_dir)).head.target)
        start_watcher(fleet, root, repo_dir, keystore, secret_file, args.port)
    except (LocalFleetError, FleetError) as e:
        _say(f"meshfleet up: {e}")
        return 1
    _say(f"reconciling {repo_dir} at {head[:12]} (watcher log: {root / 'watch.log'})")
    converged = wait_converged(f"{url}/status", head, args.timeout)
    _say(("every cluster is Ready at " + head[:12]) if converged else
         f"not every cluster is Ready after {args.timeout:.0f}s; the watcher keeps trying (see the TUI or "
         f"{root / 'watch.log'})")
    _say(f"\nThe fleet repository is {repo_dir}: edit a cluster file there and `git commit`; the post-commit "
         f"hook tells the watcher at once.\n  meshfleet tui --status {url}/status\n  meshfleet local down")
    if args.no_tui or not sys.stdout.isatty():
        return 0 if converged else 1
    from tui import tui_main

    return tui_main(["--status", f"{url}/status"])
