"""Reconciler benchmark (issue 5): webhook commit-to-applied, no-op resync CPU, 1,000-cluster render+diff, 10 clusters.

Run (as root is not needed; no podlets are started):
  .venv/bin/python bench/reconcile.py --part render  [--clusters 1000]
  .venv/bin/python bench/reconcile.py --part webhook [--commits 10]
  .venv/bin/python bench/reconcile.py --part scale   [--clusters 10]

`render` is in memory: a generated fleet of N clusters is validated (`check_fleet`), rendered
(`render_fleet`) and diffed against the previous revision's render with the pure functions the
reconciler uses (`fleet.apply.drift.detect`, `fleet.apply.plan.to_prune`, `fleet.apply.diff.unified`).

`webhook` starts three local clusters (north, east, west; control planes only, no podlets), a temp
Git repository holding the example fleet with a fresh anchor (`meshfleet trust init`), and
`meshfleet watch` as its own process; each round commits a log-level change, POSTs a signed GitHub
webhook and polls the watcher's /status until all three clusters report the new revision applied.
A second watcher with a short --resync then measures the CPU its process spends per no-op pass.

`scale` starts N local clusters and times `meshfleet reconcile --no-wait` applying a fresh fleet.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import re
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
MESHFLEET = str(Path(sys.executable).parent / "meshfleet")
TICKS = os.sysconf("SC_CLK_TCK")


# ---- small helpers ---------------------------------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    raw = Path(f"/proc/{pid}/stat").read_text()
    fields = raw[raw.rindex(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q / 100 * len(ordered)) - 1))]  # nearest rank


def load_note() -> str:
    return "load average " + " ".join(Path("/proc/loadavg").read_text().split()[:3])


# ---- part 1: render + diff of a generated fleet in memory --------------------------------------------------


class MemoryTree:
    """A fleet repository held in a dict: the loader reads it exactly as it reads a Git commit."""

    def __init__(self, files: dict[str, bytes]) -> None:
        self.files = files

    def read(self, path: str) -> bytes | None:
        return self.files.get(path)

    def list(self, directory: str) -> list[str]:
        prefix = directory.rstrip("/") + "/"
        return sorted(p[len(prefix):] for p in self.files if p.startswith(prefix) and "/" not in p[len(prefix):])


def _anchor_pem() -> bytes:
    from mesh.pki import certificate_to_pem, generate_private_key, issue_trust_anchor

    key = generate_private_key()
    cert = issue_trust_anchor(key, common_name="bench anchor", now=datetime.now(UTC), lifetime=timedelta(days=30))
    return certificate_to_pem(cert).encode()


def generated_fleet(n: int, log_level: str, anchor: bytes, wave_size: int = 100) -> MemoryTree:
    """N clusters in waves of ``wave_size``; clusters 2k and 2k+1 link to each other (gateway + Link each)."""
    names = [f"c{i:04d}" for i in range(n)]
    waves = "\n".join(f"      - [{', '.join(names[i:i + wave_size])}]" for i in range(0, n, wave_size))
    fleet = (f"apiVersion: meshfleet.io/v1alpha1\nkind: Fleet\nmetadata:\n  name: bench\nspec:\n"
             f"  mesh:\n    version: \"0.1.0\"\n    trustDomain: cluster.local\n    namespace: meshfleet\n"
             f"  rollout:\n    waveTimeout: 10m\n    waves:\n{waves}\n"
             f"  defaults:\n    replicas: 1\n    logLevel: {log_level}\n")
    files = {"fleet.yaml": fleet.encode(), "trust-anchors/anchor.pem": anchor}
    for i, name in enumerate(names):
        peer = names[i ^ 1] if (i ^ 1) < n else None
        links = f"  links: [{peer}]\n" if peer else ""
        files[f"clusters/{name}.yaml"] = (
            f"apiVersion: meshfleet.io/v1alpha1\nkind: Cluster\nmetadata:\n  name: {name}\nspec:\n"
            f"  kubeconfigContext: ctx-{name}\n  network:\n"
            f"    podCIDR: 10.{i // 16}.{(i % 16) * 16}.0/20\n"
            f"    serviceCIDR: 172.{16 + i // 256}.{i % 256}.0/24\n{links}").encode()
    return MemoryTree(files)


def render_part(n: int, text_sample: int) -> None:
    import gc

    import yaml

    from fleet.apply import diff as diff_module
    from fleet.apply.diff import Prediction, unified
    from fleet.apply.drift import detect
    from fleet.apply.plan import ObjectRef, ordered, to_prune
    from fleet.config import load_fleet
    from fleet.render import render_fleet

    anchor = _anchor_pem()
    now = datetime.now(UTC)
    old_tree = generated_fleet(n, "info", anchor)
    new_tree = generated_fleet(n, "debug", anchor)
    old = render_fleet(load_fleet(old_tree, now=now), "a" * 40)  # stands for what the clusters run now
    gc.collect()

    t0 = time.process_time()
    config = load_fleet(new_tree, now=now)
    t1 = time.process_time()
    new = render_fleet(config, "b" * 40)
    t2 = time.process_time()
    drifted = pruned = objects = 0
    for name, objs in new.items():
        live = {ObjectRef.of(o): o for o in old[name]}
        refs = []
        for obj in ordered(objs):
            ref = ObjectRef.of(obj)
            refs.append(ref)
            objects += 1
            if detect(ref, live.get(ref), obj) is not None:
                drifted += 1
        pruned += len(to_prune(live, refs))
    t3 = time.process_time()
    print(f"clusters: {n}, objects rendered: {objects}, differing from the previous revision (detect): {drifted}, "
          f"to prune: {pruned}")
    print(f"load + validate (check_fleet):          {t1 - t0:.2f} s CPU")
    print(f"render_fleet:                           {t2 - t1:.2f} s CPU")
    print(f"plan + diff (ordered, detect, to_prune): {t3 - t2:.2f} s CPU")
    print(f"render + diff:                          {t3 - t1:.2f} s CPU; with validation {t3 - t0:.2f} s CPU")

    # The text diff `meshfleet diff` prints is far dearer; timed on the first clusters and scaled.
    sample = sorted(new)[:text_sample]

    def text_diffs() -> tuple[float, int, int]:
        changed = size = 0
        c0 = time.process_time()
        for name in sample:
            live = {ObjectRef.of(o): o for o in old[name]}
            for obj in new[name]:
                ref = ObjectRef.of(obj)
                text = unified(Prediction(ref, live.get(ref), obj), name)
                changed += bool(text)
                size += len(text)
        return time.process_time() - c0, changed, size

    as_is, changed, size = text_diffs()
    original = diff_module.yaml
    try:  # reference: the same function with PyYAML's libyaml emitter (same output, C instead of Python)
        class _CYaml:
            @staticmethod
            def safe_dump(data: Any, **kw: Any) -> str:
                return str(yaml.dump(data, Dumper=yaml.CSafeDumper, **kw))
        diff_module.yaml = _CYaml  # type: ignore[assignment]
        with_c, changed_c, size_c = text_diffs()
    finally:
        diff_module.yaml = original
    scale = n / len(sample)
    print(f"unified text diff (fleet.apply.diff.unified) on {len(sample)} clusters: {as_is:.2f} s CPU, "
          f"{changed} objects changed, {size / 1e3:.0f} kB of diff; scaled to {n}: ~{as_is * scale:.0f} s CPU")
    print(f"  reference, same function with yaml.CSafeDumper: {with_c:.2f} s CPU ({changed_c} changed, "
          f"{size_c / 1e3:.0f} kB, same length: {size_c == size}); scaled to {n}: ~{with_c * scale:.0f} s CPU")
    print(f"resident memory at the end: {rss_mib(os.getpid()):.0f} MiB; {load_note()}")


# ---- shared: a local fleet and a fleet repository --------------------------------------------------------


class FleetRepo:
    """The example fleet (fleet.yaml, clusters/) copied into a temp Git repository, with a fresh anchor."""

    def __init__(self, root: Path, keystore: Path) -> None:
        import pygit2

        self.root = root
        root.mkdir(parents=True)
        self.repo = pygit2.init_repository(str(root), initial_head="main")
        self.sig = pygit2.Signature("Platform Team", "platform@example.com")
        subprocess.run([MESHFLEET, "trust", "init", "--repo", str(root), "--keystore", str(keystore)],
                       check=True, capture_output=True)

    def write(self, path: str, text: str) -> None:
        target = self.root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)

    def commit(self, message: str) -> str:
        index = self.repo.index
        index.add_all()
        index.write()
        tree = index.write_tree()
        parents = [] if self.repo.head_is_unborn else [self.repo.head.target]
        return str(self.repo.create_commit("refs/heads/main", self.sig, self.sig, message, tree, parents))


def one_wave(fleet_yaml: str, names: list[str]) -> str:
    """The example fleet's waves replaced by one wave: without podlets no cluster becomes Ready, and a
    later wave waits for an earlier one to be Ready, so the example's canary wave would hold the rest."""
    return re.sub(r"    waves:\n(      - .*\n)+", f"    waves:\n      - [{', '.join(names)}]\n", fleet_yaml)


def set_log_level(fleet_yaml: str, level: str) -> str:
    return re.sub(r"(?m)^    logLevel: \w+$", f"    logLevel: {level}", fleet_yaml)


@contextlib.contextmanager
def local_fleet(state: Path, names: tuple[str, ...]) -> Iterator[Any]:
    from fleet.local.fleet import LocalFleet

    fleet = LocalFleet(state, lambda m: print(f"  [local] {m}", file=sys.stderr), podlets=False)
    try:
        t0 = time.monotonic()
        rows = asyncio.run(fleet.up(names))
        assert all(r.ready for r in rows), rows
        print(f"local fleet {', '.join(names)} up in {time.monotonic() - t0:.1f} s", file=sys.stderr)
        yield fleet
    finally:
        asyncio.run(fleet.down())


def get_json(url: str, timeout: float = 5.0) -> Any:
    import urllib.request

    with urllib.request.urlopen(url, timeout=timeout) as r:  # noqa: S310 - loopback URL we built
        return json.loads(r.read())


def get_text(url: str) -> str:
    import urllib.request

    with urllib.request.urlopen(url, timeout=5) as r:  # noqa: S310 - loopback URL we built
        return str(r.read().decode())


def post(url: str, body: bytes, headers: dict[str, str]) -> int:
    import urllib.request

    req = urllib.request.Request(url, data=body, headers=headers, method="POST")
    with urllib.request.urlopen(req, timeout=5) as r:  # noqa: S310 - loopback URL we built
        return int(r.status)


class Watcher:
    """`meshfleet watch` as its own process."""

    def __init__(self, tmp: Path, repo: Path, kubeconfig: Path, keystore: Path, secret: Path, resync: float,
                 tag: str) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = tmp / f"watch-{tag}.log"
        argv = [MESHFLEET, "watch", "--repo", str(repo), "--kubeconfig", str(kubeconfig),
                "--cache", str(tmp / f"cache-{tag}"), "--keystore", str(keystore), "--state-dir",
                str(tmp / f"state-{tag}"), "--poll", "3600", "--resync", str(resync),
                "--listen", f"127.0.0.1:{self.port}", "--webhook-secret-file", str(secret)]
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)

    def applied(self, key: str = "appliedRevision") -> dict[str, str]:
        try:
            doc = get_json(self.base + "/status", timeout=2)
        except OSError:
            return {}
        return {c["name"]: c.get(key) or "" for c in doc.get("clusters", [])}

    def timeline(self, revision: str, names: list[str], t0: float, limit: float) -> tuple[float, float]:
        """Seconds after ``t0`` until some cluster targets ``revision`` (fetched, validated, rendered, work
        started), and until every cluster has it applied."""
        started = None
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"meshfleet watch exited: {self.log.read_text()[-2000:]}")
            doc = get_json(self.base + "/status", timeout=2)
            now = time.monotonic() - t0
            clusters = {c["name"]: c for c in doc.get("clusters", [])}
            if started is None and any(c.get("targetRevision") == revision for c in clusters.values()):
                started = now
            if all(clusters.get(n, {}).get("appliedRevision") == revision for n in names):
                return started if started is not None else now, now
            if (doc.get("refused") or {}).get("revision") == revision:
                raise RuntimeError(f"revision refused: {doc['refused']}")
            if now > limit:
                raise RuntimeError(f"not applied within {limit}s: {clusters}")
            time.sleep(0.05)

    def states(self) -> dict[str, str]:
        return {c["name"]: c["state"] for c in get_json(self.base + "/status")["clusters"]}

    def passes(self) -> float:
        text = get_text(self.base + "/metrics")
        return sum(float(m) for m in re.findall(r'^meshfleet_reconcile_duration_seconds_count\{[^}]*\} (\S+)$',
                                                  text, re.M))

    def wait_applied(self, revision: str, names: list[str], limit: float, step: float = 0.05) -> float:
        t0 = time.monotonic()
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"meshfleet watch exited: {self.log.read_text()[-2000:]}")
            seen = self.applied()
            if all(seen.get(n) == revision for n in names):
                return time.monotonic() - t0
            if time.monotonic() - t0 > limit:
                raise RuntimeError(f"not applied within {limit}s: {seen}")
            time.sleep(step)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def webhook_part(commits: int, noop_window: float) -> None:
    from fleet.source import GITHUB_HEADER, WebhookSecret, sign

    names = ["north", "east", "west"]
    with tempfile.TemporaryDirectory(prefix="mf-bench-rec-") as d:
        tmp = Path(d)
        keystore, secret = tmp / "keystore", tmp / "webhook-secret"
        secret.write_text("bench-secret\n")
        secret.chmod(0o600)
        with local_fleet(tmp / "local", tuple(names)) as fleet:
            kubeconfig = fleet.kubeconfig_path()
            repo = FleetRepo(tmp / "repo", keystore)
            fleet_yaml = one_wave((ROOT / "fleet.yaml").read_text(), names)
            repo.write("fleet.yaml", fleet_yaml)
            for n in names:
                repo.write(f"clusters/{n}.yaml", (ROOT / "clusters" / f"{n}.yaml").read_text())
            first = repo.commit("example fleet")
            watcher = Watcher(tmp, repo.root, kubeconfig, keystore, secret, resync=15.0, tag="hook")
            try:
                initial = watcher.wait_applied(first, names, limit=120, step=0.2)
                print(f"first revision applied on all 3 clusters {initial:.1f} s after the watcher started "
                      f"(fetch at start-up, CRDs, Secrets minted)", file=sys.stderr)
                time.sleep(3)
                times, starts, webhook_ms = [], [], []
                levels = ["debug", "warn", "info"]
                for i in range(commits):
                    level = levels[i % len(levels)]
                    repo.write("fleet.yaml", set_log_level(fleet_yaml, level))
                    t0 = time.monotonic()
                    revision = repo.commit(f"log level {level}")
                    body = json.dumps({"ref": "refs/heads/main", "after": revision}).encode()
                    th = time.monotonic()
                    status = post(watcher.base + "/hooks/git", body,
                                  {GITHUB_HEADER: sign(body, WebhookSecret(b"bench-secret")),
                                   "Content-Type": "application/json", "X-GitHub-Event": "push"})
                    webhook_ms.append((time.monotonic() - th) * 1000)
                    assert status == 202, status
                    started, done = watcher.timeline(revision, names, t0, limit=120)
                    times.append(done)
                    starts.append(started)
                    print(f"  commit {i + 1}: logLevel {level}, work on it started after {started:.2f} s, "
                          f"all 3 applied after {done:.2f} s", file=sys.stderr)
                    time.sleep(1)
                print(f"states after the commits: {watcher.states()}")
                rev_annotations = deployment_revisions(fleet, names)
                assert all(v == revision for v in rev_annotations.values()), rev_annotations
                print(f"commit -> applied on all 3 clusters, {commits} commits: p50 {statistics.median(times):.2f} s,"
                      f" p90 {pct(times, 90):.2f} s, min {min(times):.2f} s, max {max(times):.2f} s")
                print(f"  each: {', '.join(f'{t:.2f}' for t in times)}")
                print(f"  of which until the watcher started on the revision (fetch, validate, render): "
                      f"p50 {statistics.median(starts):.2f} s, max {max(starts):.2f} s")
                print(f"  webhook POST answered in p50 {statistics.median(webhook_ms):.1f} ms")
                print(f"  identity Deployment annotation on every cluster = last commit: {revision[:12]}")
                print(f"watcher resident memory: {rss_mib(watcher.proc.pid):.0f} MiB")
            finally:
                watcher.stop()
            repo.write("fleet.yaml", set_log_level(fleet_yaml, "trace"))
            revision = repo.commit("log level trace")
            asyncio.run(apply_breakdown(tmp, repo.root, kubeconfig, keystore, revision))
            noop(tmp, repo, kubeconfig, keystore, secret, names, revision, noop_window)
    print(load_note())


async def apply_breakdown(tmp: Path, repo: Path, kubeconfig: Path, keystore: Path, revision: str) -> None:
    """One pass of the reconciler's engine, in this process, applying ``revision``: its API requests, timed."""
    from fleet.kube.client import KubeClient
    from fleet.reconcile.engine import FleetReconciler
    from fleet.source import GitSource

    calls: list[tuple[str, str, float]] = []
    original = KubeClient.request

    async def timed(self: KubeClient, method: str, path: str, **kw: Any) -> Any:
        t0 = time.monotonic()
        try:
            return await original(self, method, path, **kw)
        finally:
            calls.append((self.access.server, method, time.monotonic() - t0))

    snapshot = await GitSource(str(repo), "main", cache=tmp / "cache-breakdown").sync_async()
    assert snapshot.revision == revision
    engine = FleetReconciler(kubeconfig=[kubeconfig], keystore=keystore)
    KubeClient.request = timed  # type: ignore[method-assign]
    try:
        assert engine.load(snapshot.tree, snapshot.revision) == ()
        t0 = time.monotonic()
        engine.schedule()
        await engine.settle()
        wall = time.monotonic() - t0
    finally:
        KubeClient.request = original  # type: ignore[method-assign]
        await engine.close()
    applied = [s.applied_revision == revision for s in engine.statuses.values()]
    servers = {c[0] for c in calls}
    per_method: dict[str, int] = {}
    for _, method, _d in calls:
        per_method[method] = per_method.get(method, 0) + 1
    total = sum(d for _, _, d in calls)
    print(f"one engine pass applying a new revision to the 3 clusters, in-process: {wall:.2f} s wall, "
          f"applied on {sum(applied)}/3; {len(calls) / len(servers):.0f} API requests per cluster, one after "
          f"another ({', '.join(f'{m} {n / len(servers):.0f}' for m, n in sorted(per_method.items()))}); "
          f"mean {total / len(calls) * 1000:.0f} ms, p50 {statistics.median([c[2] for c in calls]) * 1000:.0f} ms "
          f"per request; their sum per cluster {total / len(servers):.2f} s")


def deployment_revisions(fleet: Any, names: list[str]) -> dict[str, str]:
    return {n: _annotation(fleet.kubeconfig_path(n)) for n in names}


def _annotation(kubeconfig: Path) -> str:
    from kubernetes import client, config

    cfg = client.Configuration()
    config.load_kube_config(config_file=str(kubeconfig), client_configuration=cfg)
    with client.ApiClient(configuration=cfg) as api:
        dep = client.AppsV1Api(api).read_namespaced_deployment("identity", "meshfleet")
        return str(dep.metadata.annotations["fleet.meshfleet.io/revision"])


def noop(tmp: Path, repo: FleetRepo, kubeconfig: Path, keystore: Path, secret: Path, names: list[str],
         revision: str, window: float) -> None:
    """CPU of a watcher process per pass over clusters already at the revision (health and drift checks)."""
    resync = 3.0
    watcher = Watcher(tmp, repo.root, kubeconfig, keystore, secret, resync=resync, tag="noop")
    try:
        watcher.wait_applied(revision, names, limit=120, step=0.2)
        time.sleep(2 * resync)  # past the first passes, which read everything for the first time
        cpu0, n0 = cpu_seconds(watcher.proc.pid), watcher.passes()
        time.sleep(window)
        cpu1, n1 = cpu_seconds(watcher.proc.pid), watcher.passes()
        cluster_passes = n1 - n0
        fleet_passes = cluster_passes / len(names)
        per = (cpu1 - cpu0) / fleet_passes if fleet_passes else float("nan")
        print(f"no-op resync (--resync {resync:.0f}, {window:.0f} s window): {cluster_passes:.0f} cluster checks = "
              f"{fleet_passes:.1f} passes over the 3 clusters; watcher CPU {cpu1 - cpu0:.2f} s; "
              f"per no-op pass of the fleet {per:.3f} s CPU ({per / len(names) * 1000:.0f} ms per cluster)")
        print(f"  drift found during the window: "
              f"{re.findall(r'^meshfleet_drift_objects.*$', get_text(watcher.base + '/metrics'), re.M)}")
        print(f"watcher resident memory: {rss_mib(watcher.proc.pid):.0f} MiB")
    finally:
        watcher.stop()


# ---- part 3: one reconcile across N local clusters ---------------------------------------------------------


def scale_part(n: int, concurrency: list[int]) -> None:
    names = [f"s{i:02d}" for i in range(1, n + 1)]
    with tempfile.TemporaryDirectory(prefix="mf-bench-rec-") as d:
        tmp = Path(d)
        keystore = tmp / "keystore"
        with local_fleet(tmp / "local", tuple(names)) as fleet:
            kubeconfig = fleet.kubeconfig_path()
            repo = FleetRepo(tmp / "repo", keystore)
            fleet_yaml = one_wave((ROOT / "fleet.yaml").read_text(), names)
            for i, name in enumerate(names):
                repo.write(f"clusters/{name}.yaml",
                           f"apiVersion: meshfleet.io/v1alpha1\nkind: Cluster\nmetadata:\n  name: {name}\nspec:\n"
                           f"  kubeconfigContext: meshfleet-{name}\n  network:\n"
                           f"    podCIDR: 10.{110 + i}.0.0/16\n    serviceCIDR: 10.{210 + i}.0.0/16\n")
            for round_, conc in enumerate(concurrency):
                # Each round a new commit (log level) so every object of every cluster is applied again;
                # the first round also creates everything (CRDs, namespace, Secrets minted).
                level = ["info", "debug", "warn"][round_ % 3]
                repo.write("fleet.yaml", set_log_level(fleet_yaml, level))
                revision = repo.commit(f"round {round_}")
                argv = [MESHFLEET, "reconcile", "--no-wait", "--repo", str(repo.root), "--kubeconfig",
                        str(kubeconfig), "--cache", str(tmp / "cache"), "--keystore", str(keystore),
                        "--state-dir", str(tmp / f"state-{round_}"), "--concurrency", str(conc), "-o", "json"]
                before = resource.getrusage(resource.RUSAGE_CHILDREN)
                t0 = time.monotonic()
                proc = subprocess.run(argv, capture_output=True, text=True)
                wall = time.monotonic() - t0
                after = resource.getrusage(resource.RUSAGE_CHILDREN)
                cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
                doc = json.loads(proc.stdout) if proc.stdout.strip().startswith("{") else {}
                applied = sum(1 for c in doc.get("clusters", []) if c.get("appliedRevision") == revision)
                what = "first apply (creates everything)" if round_ == 0 else "new revision (updates every object)"
                print(f"reconcile --no-wait, {n} clusters, --concurrency {conc}, {what}: {wall:.1f} s wall, "
                      f"{cpu:.1f} s CPU of the reconcile process, exit {proc.returncode}, "
                      f"{applied}/{n} clusters at the new revision")
                if applied != n:
                    print(proc.stderr[-3000:])
    print(load_note())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--part", choices=("render", "webhook", "scale"), required=True)
    ap.add_argument("--clusters", type=int, default=None, help="render: 1000; scale: 10")
    ap.add_argument("--commits", type=int, default=10)
    ap.add_argument("--text-sample", type=int, default=50, help="render: clusters whose text diff is timed")
    ap.add_argument("--noop-window", type=float, default=30.0)
    ap.add_argument("--concurrency", default="4,4,10", help="scale: comma-separated --concurrency per round")
    args = ap.parse_args()
    print(f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores, {load_note()}")
    if args.part == "render":
        render_part(args.clusters or 1000, args.text_sample)
    elif args.part == "webhook":
        webhook_part(args.commits, args.noop_window)
    else:
        scale_part(args.clusters or 10, [int(c) for c in args.concurrency.split(",")])


if __name__ == "__main__":
    main()
