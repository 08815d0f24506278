"""Per-cluster issuers: when to mint one, how, and the Secret that carries it (pure).

Each cluster's identity service signs workload certificates with its own
intermediate CA (the issuer), signed by a fleet trust anchor.  The issuer's
key is generated here, in memory, and travels only inside the Secret object
applied straight to that cluster; it is never written to disk.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from cryptography import x509

from mesh.pki import (
    CertificateAuthority,
    PrivateKey,
    certificate_to_pem,
    certificates_to_pem,
    describe,
    generate_private_key,
    issue_issuer,
    parse_bundle,
    private_key_to_pem,
    verify_chain,
)
from mesh.pki.errors import PKIError

ISSUER_SECRET = "meshfleet-identity-issuer"
DEFAULT_ISSUER_LIFETIME = timedelta(days=30)
RENEW_FRACTION = 2 / 3
EXPIRY_WARNING = timedelta(days=60)


@dataclass(frozen=True, slots=True)
class IssuerPolicy:
    lifetime: timedelta = DEFAULT_ISSUER_LIFETIME
    renew_fraction: float = RENEW_FRACTION


@dataclass(frozen=True, slots=True, repr=False)
class IssuerMaterial:
    """An issuer certificate, its key and the anchors it chains to; ``repr`` hides the key."""

    cert_pem: bytes
    key_pem: bytes
    anchors_pem: bytes

    def __repr__(self) -> str:
        return f"IssuerMaterial({describe(x509.load_pem_x509_certificate(self.cert_pem))})"


def renewal_reason(issuer: x509.Certificate | None, anchors: tuple[x509.Certificate, ...], now: datetime,
                   policy: IssuerPolicy = IssuerPolicy()) -> str | None:
    """Why the cluster needs a new issuer, or None if the current one is good."""
    if issuer is None:
        return "the cluster has no issuer yet"
    try:
        verify_chain(issuer, anchors, now=now)
    except PKIError as e:
        return f"the current issuer does not chain to a current trust anchor ({e})"
    start, end = issuer.not_valid_before_utc, issuer.not_valid_after_utc
    renew_at = start + (end - start) * policy.renew_fraction
    if now >= renew_at:
        return f"the current issuer passed {policy.renew_fraction:.0%} of its life ({describe(issuer)})"
    return None


def new_issuer(anchor: x509.Certificate, anchor_key: PrivateKey, anchors: tuple[x509.Certificate, ...], *,
               cluster: str, trust_domain: str, now: datetime, policy: IssuerPolicy = IssuerPolicy()
               ) -> IssuerMaterial:
    key = generate_private_key()
    parent = CertificateAuthority(certificate=anchor, key=anchor_key)
    cert = issue_issuer(key.public_key(), parent, trust_domain=trust_domain,
                        common_name=f"meshfleet issuer {cluster}", now=now, lifetime=policy.lifetime)
    return IssuerMaterial(certificate_to_pem(cert).encode(), private_key_to_pem(key), certificates_to_pem(anchors))


def issuer_secret(material: IssuerMaterial, namespace: str, name: str = ISSUER_SECRET) -> dict[str, Any]:
    """The Secret the identity service mounts: ``tls.crt``, ``tls.key`` and the anchors as ``ca.crt``."""
    import base64

    def b64(data: bytes) -> str:
        return base64.b64encode(data).decode()

    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "kubernetes.io/tls",
        "metadata": {"name": name, "namespace": namespace},
        "data": {"tls.crt": b64(material.cert_pem), "tls.key": b64(material.key_pem),
                 "ca.crt": b64(material.anchors_pem)},
    }


def issuer_from_secret(secret: dict[str, Any] | None) -> x509.Certificate | None:
    """The issuer certificate in a live Secret, or None if there is none or it is unreadable."""
    import base64

    if not secret:
        return None
    raw = (secret.get("data") or {}).get("tls.crt")
    if not raw:
        return None
    try:
        return parse_bundle(base64.b64decode(raw))[0]
    except (PKIError, ValueError):
        return None
