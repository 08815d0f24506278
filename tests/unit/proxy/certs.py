"""Certificate material generated at test time (never committed)."""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

TRUST_DOMAIN = "cluster.local"


def identity_name(sa: str, ns: str) -> str:
    return f"{sa}.{ns}.serviceaccount.identity.meshfleet.{TRUST_DOMAIN}"


@dataclass(frozen=True)
class Authority:
    cert: x509.Certificate
    key: ec.EllipticCurvePrivateKey

    @property
    def pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def make_ca(cn: str, parent: Authority | None = None) -> Authority:
    key = ec.generate_private_key(ec.SECP256R1())
    issuer_name = parent.cert.subject if parent else _name(cn)
    signing_key = parent.key if parent else key
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(cn))
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(_now() - dt.timedelta(minutes=5))
        .not_valid_after(_now() + dt.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None if parent is None else 0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(signing_key, hashes.SHA256())
    )
    return Authority(cert, key)


@dataclass(frozen=True)
class IdentityFiles:
    name: str
    directory: Path
    cert_path: Path
    key_path: Path
    bundle_path: Path
    not_after: dt.datetime


def make_identity(directory: Path, issuer: Authority, anchor: Authority, sa: str, ns: str) -> IdentityFiles:
    directory.mkdir(parents=True, exist_ok=True)
    name = identity_name(sa, ns)
    key = ec.generate_private_key(ec.SECP256R1())
    not_after = (_now() + dt.timedelta(hours=24)).replace(microsecond=0)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(name))
        .issuer_name(issuer.cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(_now() - dt.timedelta(minutes=5))
        .not_valid_after(not_after)
        .add_extension(
            x509.SubjectAlternativeName(
                [
                    x509.DNSName(name),
                    x509.UniformResourceIdentifier(f"spiffe://{TRUST_DOMAIN}/ns/{ns}/sa/{sa}"),
                ]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([x509.ExtendedKeyUsageOID.SERVER_AUTH, x509.ExtendedKeyUsageOID.CLIENT_AUTH]),
            critical=False,
        )
        .sign(issuer.key, hashes.SHA256())
    )
    cert_path = directory / "cert.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM) + issuer.pem)
    key_path = directory / "key.pem"
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
    bundle_path = directory / "bundle.pem"
    bundle_path.write_bytes(anchor.pem)
    return IdentityFiles(name, directory, cert_path, key_path, bundle_path, not_after)
