"""Fixtures for fleet configuration tests: fleet trees written to temp dirs and anchors made at test time."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest
from config_files import REPO_ROOT, MakeCert, WriteFleet, certificate


@pytest.fixture
def make_cert() -> MakeCert:
    """A self-signed P-256 certificate in PEM; its key is thrown away."""
    return certificate


@pytest.fixture
def write_fleet(tmp_path: Path) -> WriteFleet:
    """Write a fleet tree: fleet.yaml, clusters/<name>.yaml and trust-anchors/ (a valid anchor unless given)."""

    def write(
        fleet: str | None,
        clusters: dict[str, str],
        anchors: dict[str, bytes] | None = None,
        root: Path = tmp_path / "fleet",
    ) -> Path:
        (root / "clusters").mkdir(parents=True)
        (root / "trust-anchors").mkdir()
        if fleet is not None:
            (root / "fleet.yaml").write_text(textwrap.dedent(fleet))
        for file, text in clusters.items():
            (root / "clusters" / file).write_text(textwrap.dedent(text))
        for file, data in (anchors if anchors is not None else {"root.crt": certificate()}).items():
            (root / "trust-anchors" / file).write_bytes(data)
        return root

    return write


@pytest.fixture
def example_fleet(tmp_path: Path) -> Path:
    """A copy of the repository's example fleet with a trust anchor generated now."""
    root = tmp_path / "example"
    root.mkdir()
    shutil.copy(REPO_ROOT / "fleet.yaml", root / "fleet.yaml")
    shutil.copytree(REPO_ROOT / "clusters", root / "clusters")
    (root / "trust-anchors").mkdir()
    (root / "trust-anchors" / "root.crt").write_bytes(certificate())
    return root
