"""The fleet manager runs one mirror per link of the revision in force, and keeps it running."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Awaitable
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from fleet.config import DirectoryTree, FleetConfig, load_fleet
from fleet.reconcile.mirrors import MirrorSupervisor, links_of
from mesh.control.identity import ApiCredentials
from mesh.pki import certificates_to_pem, generate_private_key, issue_trust_anchor

REPO_ROOT = Path(__file__).resolve().parents[3]


def fleet(root: Path, links: dict[str, list[str]]) -> FleetConfig:
    """The example fleet with ``links`` instead of its own, and a fresh anchor."""
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    shutil.copy(REPO_ROOT / "fleet.yaml", root / "fleet.yaml")
    shutil.copytree(REPO_ROOT / "clusters", root / "clusters")
    for path in (root / "clusters").glob("*.yaml"):
        doc = yaml.safe_load(path.read_text())
        doc["spec"]["links"] = links.get(doc["metadata"]["name"], [])
        path.write_text(yaml.safe_dump(doc))
    (root / "trust-anchors").mkdir()
    anchor = issue_trust_anchor(generate_private_key(), common_name="test anchor", now=datetime.now(UTC))
    (root / "trust-anchors" / "root.crt").write_bytes(certificates_to_pem([anchor]))
    return load_fleet(DirectoryTree(root), now=datetime.now(UTC))


class Runs:
    """A stand-in for the mirror: records what it was started for, fails on request."""

    def __init__(self, fail_times: int = 0) -> None:
        self.started: list[tuple[str, str, str, str]] = []
        self.cancelled: list[str] = []
        self.fail_times = fail_times

    async def __call__(
        self, local: ApiCredentials, remote: ApiCredentials, link: str, namespace: str, stopped: Awaitable[object]
    ) -> None:
        self.started.append((local.server, remote.server, link, namespace))
        if self.fail_times:
            self.fail_times -= 1
            raise RuntimeError("the API server went away")
        try:
            await stopped
        except asyncio.CancelledError:
            self.cancelled.append(link)
            raise


def creds(context: str) -> ApiCredentials:
    return ApiCredentials(server=f"https://{context}.example:6443")


async def test_links_start_and_stop_mirrors_with_the_right_credentials(tmp_path: Path) -> None:
    runs = Runs()
    supervisor = MirrorSupervisor(creds, runs, linger=0.2)
    try:
        supervisor.update(fleet(tmp_path / "a", {"east": ["west"], "west": ["east"]}))
        await asyncio.sleep(0.05)
        assert sorted(runs.started) == [
            ("https://meshfleet-east.example:6443", "https://meshfleet-west.example:6443", "west", "meshfleet"),
            ("https://meshfleet-west.example:6443", "https://meshfleet-east.example:6443", "east", "meshfleet"),
        ]
        # West stops linking to east; north starts linking to west. Nothing else restarts.
        supervisor.update(fleet(tmp_path / "b", {"east": ["west"], "north": ["west"]}))
        await asyncio.sleep(0.05)
        assert set(supervisor.links) == {("east", "west"), ("north", "west")}
        # The removed link's mirror lingers, so it can clean up once its Link is pruned; then it stops.
        assert runs.cancelled == []
        await asyncio.sleep(0.3)
        assert runs.cancelled == ["east"]
        assert len(runs.started) == 3
    finally:
        await supervisor.close()
    assert sorted(runs.cancelled) == ["east", "west", "west"]


async def test_a_link_back_before_its_mirror_stopped_keeps_that_mirror(tmp_path: Path) -> None:
    runs = Runs()
    supervisor = MirrorSupervisor(creds, runs, linger=0.2)
    try:
        supervisor.update(fleet(tmp_path / "a", {"east": ["west"]}))
        await asyncio.sleep(0.05)
        supervisor.update(fleet(tmp_path / "b", {}))
        supervisor.update(fleet(tmp_path / "c", {"east": ["west"]}))
        await asyncio.sleep(0.3)
        assert len(runs.started) == 1  # never two mirrors of one link at once
        assert runs.cancelled == []
    finally:
        await supervisor.close()
    assert runs.cancelled == ["west"]


async def test_a_failing_mirror_is_restarted_and_never_raises(tmp_path: Path) -> None:
    runs = Runs(fail_times=2)
    supervisor = MirrorSupervisor(creds, runs, restart_delay=0.01)
    try:
        supervisor.update(fleet(tmp_path, {"east": ["west"]}))
        await asyncio.sleep(0.2)
        assert len(runs.started) == 3  # two failures, then it stays up
    finally:
        await supervisor.close()


async def test_missing_credentials_are_retried_not_fatal(tmp_path: Path) -> None:
    asked: list[str] = []

    def none(context: str) -> ApiCredentials:
        asked.append(context)
        raise LookupError(f"context {context!r}: not in any kubeconfig")

    runs = Runs()
    supervisor = MirrorSupervisor(none, runs, restart_delay=0.01)
    try:
        supervisor.update(fleet(tmp_path, {"east": ["west"]}))
        await asyncio.sleep(0.1)
    finally:
        await supervisor.close()
    assert len(asked) >= 2
    assert runs.started == []


def test_links_of_a_fleet_without_links_is_empty(tmp_path: Path) -> None:
    assert links_of(fleet(tmp_path, {})) == {}


@pytest.mark.parametrize("links", [{"east": ["west"]}])
def test_link_ends_name_both_contexts(tmp_path: Path, links: dict[str, list[str]]) -> None:
    (ends,) = links_of(fleet(tmp_path, links)).values()
    assert (ends.cluster, ends.target, ends.cluster_context, ends.target_context, ends.mesh_namespace) == (
        "east",
        "west",
        "meshfleet-east",
        "meshfleet-west",
        "meshfleet",
    )
