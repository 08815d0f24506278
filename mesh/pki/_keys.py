"""ECDSA P-256 keys: generation, explicit PEM (de)serialisation, and matching keys to certificates.

P-256 is the only curve the mesh uses: every TLS stack the proxies may talk to
supports it, and a single key type keeps CSR validation a yes/no question.
Serialising a private key is deliberately a named function call so that every
place key bytes leave memory is easy to find.
"""

from __future__ import annotations

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from .errors import PrivateKeyError

PrivateKey = ec.EllipticCurvePrivateKey
PublicKey = ec.EllipticCurvePublicKey


def generate_private_key() -> PrivateKey:
    """A fresh ECDSA key on P-256."""
    return ec.generate_private_key(ec.SECP256R1())


def is_p256(key: object) -> bool:
    """True if `key` is an EC key (public or private) on P-256."""
    return isinstance(key, ec.EllipticCurvePublicKey | ec.EllipticCurvePrivateKey) and isinstance(
        key.curve, ec.SECP256R1
    )


def private_key_to_pem(key: PrivateKey) -> bytes:
    """Unencrypted PKCS#8 PEM. Callers write it only to 0600 files or Kubernetes Secrets."""
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def private_key_from_pem(data: bytes, *, source: str = "key") -> PrivateKey:
    """Load an unencrypted PEM private key and insist it is P-256.

    `source` names the input in the error (a file path, a Secret key); the
    bytes themselves are never echoed.
    """
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as e:
        # The library's message may describe the content; keep only the class name.
        raise PrivateKeyError(f"{source}: not an unencrypted PEM private key ({type(e).__name__})") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey) or not is_p256(key):
        raise PrivateKeyError(f"{source}: the key is not ECDSA P-256")
    return key


def public_key_bytes(key: PublicKey | PrivateKey) -> bytes:
    """The DER SubjectPublicKeyInfo of a key, for comparisons."""
    public = key.public_key() if isinstance(key, ec.EllipticCurvePrivateKey) else key
    return public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def key_matches_certificate(key: PrivateKey, cert: x509.Certificate) -> bool:
    """True if `cert` certifies the public half of `key`."""
    cert_key = cert.public_key()
    if not isinstance(cert_key, ec.EllipticCurvePublicKey):
        return False
    return public_key_bytes(key) == public_key_bytes(cert_key)
