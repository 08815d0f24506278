"""``meshfleet trust rotate`` on a real cluster while the meshed demo app serves traffic.

One local cluster with a podlet, the demo namespace reconciled from a fleet
repository of its own, and ``meshfleet watch`` following that repository.
The rotation runs all three phases while a client keeps calling the demo's
web pod, whose proxy calls api and backend over mTLS.  What a platform team
checks afterwards: not one request failed, every proxy's leaf chains to the
new anchor, the repository trusts only the new anchor, the old key is gone.

About 60-90 s after the local fleet is up.  Set MESHFLEET_TEST_CLUSTERS=alpha
to start only the cluster this module uses.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pygit2
import pytest

from fleet.reconcile.cli import parse_watch_args, watch
from fleet.trust.keystore import Keystore
from fleet.trust.rotate import RotateOptions, rotate
from fleet.trust.rotation_observe import anchor_of_metrics
from mesh.pki import fingerprint, parse_bundle
from tests.integration.test_mesh_e2e import (
    Mesh,
    Traffic,
    _deploy_demo,
    _metrics,
    _pods,
    keep_calling,
    reconciled_mesh,
)

pytestmark = [pytest.mark.cluster, pytest.mark.root, pytest.mark.netns, pytest.mark.slow]


class Fleet:
    def __init__(self, mesh: Mesh, repo: Path, keystore: Path, kubeconfig: Path, tmp: Path) -> None:
        self.mesh, self.repo, self.keystore, self.kubeconfig, self.tmp = mesh, repo, keystore, kubeconfig, tmp


@pytest.fixture(scope="module")
def fleet(local_fleet: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    tmp = tmp_path_factory.mktemp("trust-rotation")
    with reconciled_mesh(local_fleet, tmp) as mesh:
        mesh.run(_deploy_demo(mesh))
        yield Fleet(mesh, tmp / "repo", tmp / "keystore", local_fleet.kubeconfig, tmp)


def _committed_anchors(repo: Path) -> set[str]:
    r = pygit2.Repository(str(repo))
    tree = r.head.peel(pygit2.Commit).tree / "trust-anchors"
    return {fingerprint(c) for e in tree if e.name.endswith(".pem") for c in parse_bundle(r[e.id].data)}


async def _proxy_anchors(fleet: Fleet) -> dict[str, str | None]:
    async with fleet.mesh.kube() as kube:
        pods = await _pods(kube, "app.kubernetes.io/part-of=meshfleet-demo")
    return {p["metadata"]["name"]: anchor_of_metrics(await _metrics(p["status"]["podIP"])) for p in pods}


def test_rotation_under_traffic_fails_no_request_and_leaves_only_the_new_anchor(fleet: Fleet) -> None:
    old = _committed_anchors(fleet.repo)
    assert len(old) == 1
    watch_args = parse_watch_args([
        "--repo", str(fleet.repo), "--kubeconfig", str(fleet.kubeconfig), "--cache", str(fleet.tmp / "cache"),
        "--keystore", str(fleet.keystore), "--state-dir", str(fleet.tmp / "state"),
        "--poll", "1", "--resync", "2", "--listen", "127.0.0.1:0"])
    traffic = Traffic()
    lines: list[str] = []

    def chain_answered(status: int, body: Any) -> bool:
        return status == 200 and body["downstream"][0]["downstream"][0]["service"] == "backend"

    async def run() -> str:
        async with fleet.mesh.kube() as kube:
            web = (await _pods(kube, "app=web"))[0]["status"]["podIP"]
        stop_watch, stop_traffic = asyncio.Event(), asyncio.Event()
        watcher = asyncio.create_task(watch(watch_args, stop_watch, signals=False))
        load = asyncio.create_task(keep_calling(f"http://{web}:8080/", chain_answered, stop_traffic, traffic))
        try:
            opts = RotateOptions(fleet.repo, Keystore(fleet.keystore), fleet.kubeconfig, wait=120, interval=1)
            return await rotate(opts, lambda line: lines.append(f"{time.monotonic():.1f} {line}"))
        finally:
            stop_traffic.set()
            stop_watch.set()
            await asyncio.gather(load, watcher, return_exceptions=True)

    started = time.monotonic()
    new = fleet.mesh.run(run())
    took = time.monotonic() - started
    print(f"rotation took {took:.0f}s; {traffic.statuses['ok']} requests; " + " | ".join(lines))
    assert traffic.statuses["ok"] > 100, (traffic.statuses, lines)
    assert traffic.failures == [], (traffic.failures[:10], lines, fleet.mesh.logs("web", "api", "backend"))
    assert _committed_anchors(fleet.repo) == {new}
    assert new not in old
    proxies = fleet.mesh.run(_proxy_anchors(fleet))
    assert proxies
    assert set(proxies.values()) == {new}, proxies
    keys = sorted(p.name for p in fleet.keystore.iterdir())
    assert keys == [Keystore(fleet.keystore).key_file_for(new).name]
