"""Fixtures for fleet configuration tests: fleet trees written to temp dirs and anchors made at test time."""

from __future__ import annotations

import shutil
import textwrap
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

REPO_ROOT = Path(__file__).resolve().parents[3]
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
# `meshfleet validate` reads the real clock, so default anchors are valid both at NOW and today.
_VALID_FROM = min(NOW, datetime.now(UTC)) - timedelta(days=1)
_VALID_UNTIL = max(NOW, datetime.now(UTC)) + timedelta(days=365)

MakeCert = Callable[..., bytes]
WriteFleet = Callable[..., Path]


def _certificate(
    common_name: str = "meshfleet test anchor",
    *,
    ca: bool = True,
    not_before: datetime = _VALID_FROM,
    not_after: datetime = _VALID_UNTIL,
) -> bytes:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    return builder.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM)


@pytest.fixture
def make_cert() -> MakeCert:
    """A self-signed P-256 certificate in PEM; its key is thrown away."""
    return _certificate


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
        for file, data in (anchors if anchors is not None else {"root.crt": _certificate()}).items():
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
    (root / "trust-anchors" / "root.crt").write_bytes(_certificate())
    return root
