"""Key material each cluster needs but Git never holds: the identity issuer and the injector's TLS.

Both are minted here from the fleet's anchor key, which lives in a keystore
outside the repository (``MESHFLEET_KEYSTORE``: a directory of 0600 PEM key
files; the key matching a committed anchor is used).  The resulting Secrets
go straight to their cluster: they are never rendered, written to disk,
logged or put into the inventory.  A Secret already in the cluster is kept
while it chains to a current anchor and has a third of its life left, so a
fleet manager without the keystore can still reconcile a running fleet.

``secrets_to_renew`` decides (pure); ``load_anchor_authority`` reads the keystore
(``fleet.trust.keystore``).
"""

from __future__ import annotations

import base64
import os
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from fleet.config import TrustAnchor
from fleet.errors import KeystoreError
from fleet.trust.keystore import Keystore
from mesh.manifests import INJECTOR_TLS_SECRET, ISSUER_SECRET
from mesh.pki import (
    CertificateAuthority,
    certificate_to_pem,
    generate_private_key,
    issue_issuer,
    parse_bundle,
    private_key_to_pem,
    verify_chain,
)
from mesh.pki.errors import PKIError

KEYSTORE_ENV = "MESHFLEET_KEYSTORE"
ISSUER_LIFETIME = timedelta(days=30)
INJECTOR_TLS_LIFETIME = timedelta(days=90)

Obj = dict[str, Any]


def keystore_path(environ: Mapping[str, str] = os.environ) -> Path | None:
    value = environ.get(KEYSTORE_ENV, "")
    return Path(value) if value else None


def load_anchor_authority(keystore: Path | None, anchors: Sequence[TrustAnchor], now: datetime) -> CertificateAuthority:
    """The CA of the newest committed anchor whose key is in ``keystore``; KeystoreError says why there is none."""
    if keystore is None:
        raise KeystoreError(f"no anchor keystore configured (set {KEYSTORE_ENV} to a directory of 0600 key files)")
    return Keystore(keystore).authority([a.certificate for a in anchors], now)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _decoded(secret: Mapping[str, Any] | None, key: str) -> bytes:
    data = (secret or {}).get("data") or {}
    try:
        return base64.b64decode(data.get(key, ""))
    except ValueError:
        return b""


def renewal_reason(secret: Mapping[str, Any] | None, anchors: Sequence[TrustAnchor], now: datetime) -> str | None:
    """Why the Secret's certificate must be replaced, or None while it is good."""
    if secret is None:
        return "missing"
    try:
        certs = parse_bundle(_decoded(secret, "tls.crt"))
        verify_chain(certs[0], [a.certificate for a in anchors], now=now, intermediates=certs[1:])
    except (PKIError, IndexError):
        return "does not chain to a committed trust anchor"
    cert = certs[0]
    lifetime = cert.not_valid_after_utc - cert.not_valid_before_utc
    if cert.not_valid_after_utc - now < lifetime / 3:
        return f"expires at {cert.not_valid_after_utc.isoformat()}"
    return None


def certificate_of(secret: Mapping[str, Any] | None) -> x509.Certificate | None:
    """The first certificate of a live TLS Secret, or None if there is none or it is unreadable."""
    try:
        return parse_bundle(_decoded(secret, "tls.crt"))[0]
    except (PKIError, IndexError):
        return None


def not_after(secret: Mapping[str, Any] | None) -> datetime | None:
    cert = certificate_of(secret)
    return cert.not_valid_after_utc if cert is not None else None


def _secret(name: str, namespace: str, data: dict[str, bytes], cluster: str) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "kubernetes.io/tls",
        "metadata": {"name": name, "namespace": namespace,
                     "labels": {"app.kubernetes.io/managed-by": "meshfleet", "fleet.meshfleet.io/cluster": cluster}},
        "data": {k: _b64(v) for k, v in sorted(data.items())},
    }


def issuer_secret(ca: CertificateAuthority, cluster: str, namespace: str, trust_domain: str, bundle: bytes,
                  now: datetime) -> Obj:
    key = generate_private_key()
    cert = issue_issuer(key.public_key(), ca, trust_domain=trust_domain, common_name=f"meshfleet issuer {cluster}",
                        now=now, lifetime=ISSUER_LIFETIME)
    return _secret(ISSUER_SECRET, namespace, {"tls.crt": certificate_to_pem(cert).encode(),
                                              "tls.key": private_key_to_pem(key), "ca.crt": bundle}, cluster)


def injector_tls_secret(ca: CertificateAuthority, cluster: str, namespace: str, now: datetime) -> Obj:
    """A serving certificate for ``injector.<ns>.svc``, signed by the anchor the webhook's caBundle holds."""
    key = generate_private_key()
    host = f"injector.{namespace}.svc"
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])
    not_after_ = min(now + INJECTOR_TLS_LIFETIME, ca.certificate.not_valid_after_utc)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(ca.certificate.subject)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=1)).not_valid_after(not_after_)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(host), x509.DNSName(f"{host}.cluster.local")]),
                       critical=False)
        .sign(ca.key, hashes.SHA256())
    )
    return _secret(INJECTOR_TLS_SECRET, namespace, {"tls.crt": certificate_to_pem(cert).encode(),
                                                    "tls.key": private_key_to_pem(key)}, cluster)


def secrets_to_renew(existing: Mapping[str, Mapping[str, Any] | None], anchors: Sequence[TrustAnchor],
                     now: datetime) -> dict[str, str]:
    """Secret name -> why it must be (re)made, for each of the mesh's Secrets that needs it."""
    reasons = {name: renewal_reason(existing.get(name), anchors, now) for name in (ISSUER_SECRET, INJECTOR_TLS_SECRET)}
    return {name: reason for name, reason in reasons.items() if reason is not None}
