"""Fixtures shared by the whole suite.

``local_fleet`` starts real Kubernetes control planes (etcd, kube-apiserver,
kube-controller-manager, kube-scheduler) once per test session.  It never
skips: if the binaries cannot be built or a cluster does not come up, the
tests that need it fail with the reason.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from fleet.local.fleet import ClusterStatus, LocalFleet

TEST_CLUSTERS = ("alpha", "beta")


@dataclass(frozen=True)
class RunningFleet:
    state_dir: Path
    clusters: dict[str, ClusterStatus]
    kubeconfig: Path

    def api_client(self, cluster: str):  # type: ignore[no-untyped-def]
        from kubernetes import client, config

        cfg = client.Configuration()
        config.load_kube_config(config_file=self.clusters[cluster].kubeconfig, client_configuration=cfg)
        return client.ApiClient(configuration=cfg)  # builds its connection pool from cfg: load first


def _progress(msg: str) -> None:
    print(f"[local-fleet] {msg}", file=sys.stderr, flush=True)


@pytest.fixture(scope="session")
def local_fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningFleet]:
    state = tmp_path_factory.mktemp("local-fleet")
    fleet = LocalFleet(state, _progress)
    names = tuple(os.environ.get("MESHFLEET_TEST_CLUSTERS", ",".join(TEST_CLUSTERS)).split(","))
    try:
        rows = asyncio.run(fleet.up(names))
        yield RunningFleet(state, {r.name: r for r in rows}, fleet.kubeconfig_path())
    finally:
        # Read the record afresh: a test may have restarted a cluster, and its new processes are
        # only in fleet.json, not in the object that started the fleet.
        asyncio.run(LocalFleet(state, _progress).down())
