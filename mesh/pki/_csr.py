"""Certificate signing requests: built by the proxy, checked by the identity service.

The identity service never trusts names inside a CSR: the identity it certifies
comes from the authenticated token.  The CSR only proves possession of the key
(its signature) and carries the public key, which must be P-256.
"""

from __future__ import annotations

from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from ._keys import PrivateKey, PublicKey, is_p256
from ._names import WorkloadIdentity
from .errors import BadCSRSignature, MalformedCSR, UnsupportedKey

# A PEM CSR for a P-256 key with two SANs is well under 1 KiB; refuse huge inputs early.
MAX_CSR_PEM_BYTES = 16 * 1024


@dataclass(frozen=True, slots=True)
class VerifiedCSR:
    """A CSR whose signature verified and whose key is P-256."""

    csr: x509.CertificateSigningRequest
    public_key: PublicKey


def create_csr(key: PrivateKey, identity: WorkloadIdentity) -> x509.CertificateSigningRequest:
    """A CSR for `identity`, signed by `key`, naming the identity in CN and both SANs."""
    return (
        x509.CertificateSigningRequestBuilder()
        .subject_name(identity.subject)
        .add_extension(identity.subject_alternative_name, critical=identity.san_critical)
        .sign(key, hashes.SHA256())
    )


def csr_to_pem(csr: x509.CertificateSigningRequest) -> str:
    return csr.public_bytes(serialization.Encoding.PEM).decode("ascii")


def parse_csr(pem: str | bytes) -> VerifiedCSR:
    """Parse a PEM CSR and verify it: P-256 key, valid self-signature."""
    data = pem.encode("utf-8") if isinstance(pem, str) else pem
    if len(data) > MAX_CSR_PEM_BYTES:
        raise MalformedCSR(f"CSR is {len(data)} bytes; at most {MAX_CSR_PEM_BYTES} are accepted")
    try:
        csr = x509.load_pem_x509_csr(data)
    except ValueError as e:
        raise MalformedCSR("not a PEM-encoded PKCS#10 certificate signing request") from e
    try:
        public_key = csr.public_key()
    except (ValueError, TypeError) as e:
        raise UnsupportedKey("the CSR's public key cannot be read") from e
    if not isinstance(public_key, ec.EllipticCurvePublicKey) or not is_p256(public_key):
        raise UnsupportedKey(f"the CSR's key is {_describe_key(public_key)}; only ECDSA P-256 is accepted")
    try:
        valid = csr.is_signature_valid
    except (ValueError, TypeError) as e:
        raise BadCSRSignature("the CSR's signature cannot be checked") from e
    if not valid:
        raise BadCSRSignature("the CSR's signature does not match its public key")
    return VerifiedCSR(csr=csr, public_key=public_key)


def _describe_key(key: object) -> str:
    if isinstance(key, ec.EllipticCurvePublicKey):
        return f"ECDSA {key.curve.name}"
    return type(key).__name__.removeprefix("_").replace("PublicKey", "") or "unknown"
