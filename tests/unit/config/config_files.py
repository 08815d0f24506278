"""Fleet files, trust anchors and a fixed clock the configuration tests build on."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

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


def certificate(
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


FLEET = """\
apiVersion: meshfleet.io/v1alpha1
kind: Fleet
metadata:
  name: test
spec:
  mesh:
    version: "0.1.0"
"""


def cluster_yaml(name: str, index: int, links: str = "") -> str:
    """A valid cluster file; ``links`` is inserted verbatim as the last line of spec."""
    text = (
        "apiVersion: meshfleet.io/v1alpha1\n"
        "kind: Cluster\n"
        "metadata:\n"
        f"  name: {name}\n"
        "spec:\n"
        f"  kubeconfigContext: ctx-{name}\n"
        "  network:\n"
        f"    podCIDR: 10.{100 + index}.0.0/16\n"
        f"    serviceCIDR: 10.{200 + index}.0.0/16\n"
    )
    return text + (f"  links: {links}\n" if links else "")
