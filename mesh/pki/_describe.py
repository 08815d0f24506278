"""Short human names for certificates, used in error messages and logs."""

from __future__ import annotations

from cryptography import x509
from cryptography.hazmat.primitives import hashes


def fingerprint(cert: x509.Certificate) -> str:
    """SHA-256 of the DER certificate, lower-case hex."""
    return cert.fingerprint(hashes.SHA256()).hex()


def describe(cert: x509.Certificate) -> str:
    """`CN=... (sha256 1a2b3c4d)`: enough to find the certificate, nothing secret."""
    return f"{cert.subject.rfc4514_string() or '<empty subject>'} (sha256 {fingerprint(cert)[:16]})"
