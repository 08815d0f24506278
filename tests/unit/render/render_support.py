"""The example fleet with an anchor generated at test time, and golden-file normalisation."""

from __future__ import annotations

import base64
import json
import os
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from fleet.apply.plan import HASH_ANNOTATION
from fleet.config import DirectoryTree, FleetConfig, load_fleet

REPO_ROOT = Path(__file__).resolve().parents[3]
GOLDEN_DIR = REPO_ROOT / "tests" / "golden" / "render"
NOW = datetime.now(UTC)
REVISION = "0123456789abcdef0123456789abcdef01234567"
UPDATE = os.environ.get("MESHFLEET_UPDATE_GOLDEN") == "1"


def anchor_pem(common_name: str = "meshfleet render test anchor") -> bytes:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - timedelta(days=1)).not_valid_after(NOW + timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM)


def example_fleet(root: Path) -> FleetConfig:
    """The repository's example fleet (fleet.yaml, clusters/) with a fresh anchor."""
    root.mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO_ROOT / "fleet.yaml", root / "fleet.yaml")
    shutil.copytree(REPO_ROOT / "clusters", root / "clusters")
    (root / "trust-anchors").mkdir()
    (root / "trust-anchors" / "root.crt").write_bytes(anchor_pem())
    return load_fleet(DirectoryTree(root), now=NOW)


def normalise(objects: list[dict[str, Any]], bundle: bytes) -> list[dict[str, Any]]:
    """Replace the test-time anchor (and hashes that depend on it) with fixed markers.

    Everything else, including every other content hash, is compared as rendered.
    """
    pem, b64 = bundle.decode(), base64.b64encode(bundle).decode()
    out = []
    for obj in objects:
        text = json.dumps(obj)
        escaped = json.dumps(pem)[1:-1]
        depends = escaped in text or b64 in text
        copy = json.loads(text.replace(escaped, "<trust bundle PEM>").replace(b64, "<trust bundle base64>"))
        if depends:
            copy["metadata"]["annotations"][HASH_ANNOTATION] = "<hash: depends on the trust bundle>"
        out.append(copy)
    return out
