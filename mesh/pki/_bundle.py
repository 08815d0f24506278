"""Trust bundles: the public set of anchor certificates every proxy trusts.

During an anchor rotation a bundle holds the old and the new anchor at once,
so merging and de-duplication are first-class operations, and order is kept
(first seen wins) so a re-rendered bundle is byte-for-byte stable.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from ._describe import describe, fingerprint
from ._issue import is_ca
from .errors import BundleError, MalformedCertificate, PrivateKeyInBundle

_PRIVATE_KEY_MARKER = b"PRIVATE KEY-----"
_CERT_MARKER = b"-----BEGIN CERTIFICATE-----"


def parse_bundle(pem: bytes) -> tuple[x509.Certificate, ...]:
    """Every certificate in a PEM bundle, in order.

    Refuses an empty bundle and, loudly, one that contains a private key: a
    bundle is published and committed, so a key in it is a leak to stop early.
    """
    if _PRIVATE_KEY_MARKER in pem:
        raise PrivateKeyInBundle("the bundle contains a PEM private key block; bundles must be public")
    if _CERT_MARKER not in pem:
        raise BundleError("the bundle contains no PEM certificate")
    try:
        return tuple(x509.load_pem_x509_certificates(pem))
    except ValueError as e:
        raise BundleError("the bundle contains a PEM block that is not a valid certificate") from e


def parse_certificate(pem: bytes, *, source: str = "certificate") -> x509.Certificate:
    """The first certificate of a PEM input."""
    try:
        return x509.load_pem_x509_certificate(pem)
    except ValueError as e:
        raise MalformedCertificate(f"{source}: not a PEM-encoded X.509 certificate") from e


def certificates_to_pem(certs: Iterable[x509.Certificate]) -> bytes:
    return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs)


def certificate_to_pem(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode("ascii")


def bundle_problems(certs: Iterable[x509.Certificate], now: datetime) -> list[str]:
    """Why each unusable anchor in a bundle is unusable (empty if the bundle is fine)."""
    problems: list[str] = []
    count = 0
    for cert in certs:
        count += 1
        if not is_ca(cert):
            problems.append(f"{describe(cert)} is not a CA certificate")
        if now > cert.not_valid_after_utc:
            problems.append(f"{describe(cert)} expired at {cert.not_valid_after_utc.isoformat()}")
        elif now < cert.not_valid_before_utc:
            problems.append(f"{describe(cert)} is not valid before {cert.not_valid_before_utc.isoformat()}")
    if count == 0:
        problems.append("the bundle is empty")
    return problems


def validate_bundle(certs: Iterable[x509.Certificate], now: datetime) -> None:
    """Raise BundleError naming every anchor that is not a current CA certificate."""
    problems = bundle_problems(certs, now)
    if problems:
        raise BundleError("; ".join(problems))


def merge_bundles(*bundles: Iterable[x509.Certificate]) -> tuple[x509.Certificate, ...]:
    """All certificates of all bundles, each once (by DER fingerprint), first occurrence first."""
    seen: set[str] = set()
    merged: list[x509.Certificate] = []
    for bundle in bundles:
        for cert in bundle:
            fp = fingerprint(cert)
            if fp not in seen:
                seen.add(fp)
                merged.append(cert)
    return tuple(merged)
