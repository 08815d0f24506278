"""Loading a signing CA from PEM inputs (as a Kubernetes Secret mounts them) and checking it is usable."""

from __future__ import annotations

from datetime import datetime

from cryptography import x509

from ._bundle import parse_bundle
from ._describe import describe
from ._issue import CertificateAuthority, is_ca
from ._keys import key_matches_certificate, private_key_from_pem
from ._verify import verify_chain
from .errors import BundleError, KeyMismatch, MalformedCertificate, NotACertificateAuthority


def load_certificate_authority(
    cert_pem: bytes,
    key_pem: bytes,
    anchors: tuple[x509.Certificate, ...],
    *,
    now: datetime,
    source: str = "issuer",
) -> CertificateAuthority:
    """A CA from `tls.crt` (the CA certificate, then any intermediates) and `tls.key`.

    The checks run in the order an operator would fix them: readable, a CA,
    current, key matches, chains to one of `anchors`.
    """
    try:
        certs = parse_bundle(cert_pem)
    except BundleError as e:
        raise MalformedCertificate(f"{source} certificate: {e}") from e
    key = private_key_from_pem(key_pem, source=f"{source} key")
    cert, intermediates = certs[0], certs[1:]
    if not is_ca(cert):
        raise NotACertificateAuthority(f"{source}: {describe(cert)} is not a CA certificate")
    if not key_matches_certificate(key, cert):
        raise KeyMismatch(f"{source}: the private key does not belong to {describe(cert)}")
    path = verify_chain(cert, anchors, now=now, intermediates=intermediates)
    anchor = path[-1]
    return CertificateAuthority(
        certificate=cert,
        key=key,
        intermediates=tuple(c for c in path[1:-1]),
        anchor=anchor if anchor is not cert else None,
    )
