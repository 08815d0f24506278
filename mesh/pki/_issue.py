"""Minting certificates: the fleet's trust anchor, per-cluster issuers, and workload leaves.

    trust anchor (self-signed CA, long-lived)
      └── issuer (CA, pathLen 0, DNS name constraint = the cluster's trust domain)
            └── leaf (24 h by default; DNS SAN + SPIFFE URI SAN; serverAuth + clientAuth)

Every child's NotAfter is clamped to the earliest NotAfter above it, so a
certificate never claims a life its chain cannot back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from ._csr import VerifiedCSR
from ._describe import describe
from ._keys import PrivateKey, PublicKey, key_matches_certificate
from ._names import WorkloadIdentity
from ._validity import clamp_not_after
from .errors import CertificateExpired, KeyMismatch, NotACertificateAuthority

DEFAULT_LEAF_LIFETIME = timedelta(hours=24)
# Leaves are back-dated a little so a peer whose clock runs slightly behind
# the identity service does not reject a certificate issued a moment ago.
DEFAULT_CLOCK_SKEW_ALLOWANCE = timedelta(seconds=20)

_CA_KEY_USAGE = x509.KeyUsage(
    digital_signature=True,
    content_commitment=False,
    key_encipherment=False,
    data_encipherment=False,
    key_agreement=False,
    key_cert_sign=True,
    crl_sign=True,
    encipher_only=False,
    decipher_only=False,
)
_LEAF_KEY_USAGE = x509.KeyUsage(
    digital_signature=True,
    content_commitment=False,
    key_encipherment=False,
    data_encipherment=False,
    key_agreement=False,
    key_cert_sign=False,
    crl_sign=False,
    encipher_only=False,
    decipher_only=False,
)


@dataclass(frozen=True, slots=True)
class CertificateAuthority:
    """A CA able to sign: its certificate, its key, and what lies above it.

    `intermediates` are the certificates between `certificate` and the anchor
    (usually none); `anchor` is the trust anchor it chains to, when known.
    """

    certificate: x509.Certificate
    key: PrivateKey = field(repr=False)
    intermediates: tuple[x509.Certificate, ...] = ()
    anchor: x509.Certificate | None = None

    def __post_init__(self) -> None:
        if not is_ca(self.certificate):
            raise NotACertificateAuthority(f"{describe(self.certificate)} is not a CA certificate")
        if not key_matches_certificate(self.key, self.certificate):
            raise KeyMismatch(f"the private key does not belong to {describe(self.certificate)}")

    @property
    def ancestry(self) -> tuple[x509.Certificate, ...]:
        """This CA's certificate and every certificate above it."""
        top = () if self.anchor is None else (self.anchor,)
        return (self.certificate, *self.intermediates, *top)

    @property
    def presented_chain(self) -> tuple[x509.Certificate, ...]:
        """What a leaf holder sends after its leaf: the issuer and intermediates, never the anchor."""
        return (self.certificate, *self.intermediates)


@dataclass(frozen=True, slots=True)
class IssuedLeaf:
    certificate: x509.Certificate
    chain: tuple[x509.Certificate, ...]

    @property
    def valid_until(self) -> datetime:
        return self.certificate.not_valid_after_utc


def is_ca(cert: x509.Certificate) -> bool:
    try:
        bc = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
    except x509.ExtensionNotFound:
        return False
    return bc.ca


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _base(
    subject: x509.Name, issuer: x509.Name, public_key: PublicKey, not_before: datetime, not_after: datetime
) -> x509.CertificateBuilder:
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
    )


def _aki(parent: x509.Certificate) -> x509.AuthorityKeyIdentifier:
    try:
        ski = parent.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
        return x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski)
    except x509.ExtensionNotFound:
        return x509.AuthorityKeyIdentifier.from_issuer_public_key(parent.public_key())  # type: ignore[arg-type]


def _window(
    parents: tuple[x509.Certificate, ...], now: datetime, lifetime: timedelta, backdate: timedelta
) -> tuple[datetime, datetime]:
    not_before = now - backdate
    if parents:
        not_before = max(not_before, *(p.not_valid_before_utc for p in parents))
    not_after = clamp_not_after(now + lifetime, parents)
    if not_after <= now:
        expired = min(parents, key=lambda p: p.not_valid_after_utc)
        raise CertificateExpired(
            f"cannot issue: {describe(expired)} expired at {expired.not_valid_after_utc.isoformat()}"
        )
    if not_after <= not_before:
        raise CertificateExpired(f"cannot issue: a parent certificate is not valid yet at {now.isoformat()}")
    return not_before, not_after


def issue_trust_anchor(
    key: PrivateKey, *, common_name: str, now: datetime, lifetime: timedelta = timedelta(days=3650)
) -> x509.Certificate:
    """A self-signed root CA certificate for the fleet's trust anchor."""
    public_key = key.public_key()
    return (
        _base(_name(common_name), _name(common_name), public_key, now, now + lifetime)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(_CA_KEY_USAGE, critical=True)
        .sign(key, hashes.SHA256())
    )


def issue_issuer(
    public_key: PublicKey,
    parent: CertificateAuthority,
    *,
    trust_domain: str,
    common_name: str,
    now: datetime,
    lifetime: timedelta = timedelta(days=30),
) -> x509.Certificate:
    """An intermediate CA for one cluster, allowed to sign only leaves under `trust_domain`.

    pathLen 0 means it can sign leaves but no further CAs; the DNS name
    constraint means a leaf it signs for another trust domain fails
    verification everywhere, even if the issuer key leaks.
    """
    not_before, not_after = _window(parent.ancestry, now, lifetime, timedelta(0))
    return (
        _base(_name(common_name), parent.certificate.subject, public_key, not_before, not_after)
        .add_extension(_aki(parent.certificate), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_CA_KEY_USAGE, critical=True)
        .add_extension(
            x509.NameConstraints(permitted_subtrees=[x509.DNSName(trust_domain)], excluded_subtrees=None),
            critical=True,
        )
        .sign(parent.key, hashes.SHA256())
    )


def issue_leaf(
    ca: CertificateAuthority,
    csr: VerifiedCSR,
    identity: WorkloadIdentity,
    *,
    now: datetime,
    lifetime: timedelta = DEFAULT_LEAF_LIFETIME,
    backdate: timedelta = DEFAULT_CLOCK_SKEW_ALLOWANCE,
) -> IssuedLeaf:
    """A leaf for `identity` on the CSR's key, with exactly one DNS SAN and one SPIFFE URI SAN."""
    not_before, not_after = _window(ca.ancestry, now, lifetime, backdate)
    cert = (
        _base(identity.subject, ca.certificate.subject, csr.public_key, not_before, not_after)
        .add_extension(_aki(ca.certificate), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_LEAF_KEY_USAGE, critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]),
            critical=False,
        )
        .add_extension(identity.subject_alternative_name, critical=identity.san_critical)
        .sign(ca.key, hashes.SHA256())
    )
    return IssuedLeaf(certificate=cert, chain=ca.presented_chain)
