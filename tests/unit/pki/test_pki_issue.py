"""Issuing leaves and issuers: chains, SANs, clamping, name constraints."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509 import verification
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from mesh.pki import (
    CertificateAuthority,
    IdentityDomain,
    WorkloadIdentity,
    create_csr,
    generate_private_key,
    issue_leaf,
    parse_csr,
    verify_chain,
)
from mesh.pki.errors import CertificateExpired, UntrustedChain


def _leaf_for(ca: CertificateAuthority, who: WorkloadIdentity, now: datetime) -> x509.Certificate:
    key = generate_private_key()
    return issue_leaf(ca, parse_csr(_pem(create_csr(key, who))), who, now=now).certificate


def _pem(csr: x509.CertificateSigningRequest) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return csr.public_bytes(serialization.Encoding.PEM)


def test_leaf_chains_to_the_anchor_through_the_issuer(
    anchor: CertificateAuthority, issuer: CertificateAuthority, workload: WorkloadIdentity, now: datetime
) -> None:
    key = generate_private_key()
    issued = issue_leaf(issuer, parse_csr(_pem(create_csr(key, workload))), workload, now=now)

    assert issued.chain == (issuer.certificate,)
    assert verify_chain(issued.certificate, [anchor.certificate], intermediates=issued.chain, now=now) == (
        issued.certificate,
        issuer.certificate,
        anchor.certificate,
    )
    # An independent verifier (cryptography's RFC 5280 / web PKI policy) agrees.
    store = verification.Store([anchor.certificate])
    at = now + timedelta(minutes=1)
    verifier = verification.PolicyBuilder().store(store).time(at).build_client_verifier()
    verified = verifier.verify(issued.certificate, list(issued.chain))
    assert verified.chain[-1] == anchor.certificate


def test_leaf_carries_exactly_the_identity_sans(
    issuer: CertificateAuthority, workload: WorkloadIdentity, now: datetime
) -> None:
    leaf = _leaf_for(issuer, workload, now)
    san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value

    assert list(san) == [
        x509.DNSName("web.shop.serviceaccount.identity.meshfleet.cluster.local"),
        x509.UniformResourceIdentifier("spiffe://cluster.local/ns/shop/sa/web"),
    ]
    assert leaf.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == workload.dns_name
    eku = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert set(eku) == {ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH}
    assert leaf.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is False


def test_leaf_identity_comes_from_the_argument_not_from_the_csr(
    issuer: CertificateAuthority, workload: WorkloadIdentity, domain: IdentityDomain, now: datetime
) -> None:
    impostor = WorkloadIdentity(namespace="kube-system", service_account="admin", domain=domain)
    key = generate_private_key()
    csr = parse_csr(_pem(create_csr(key, impostor)))
    leaf = issue_leaf(issuer, csr, workload, now=now).certificate
    san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == [workload.dns_name]


def test_default_leaf_lifetime_is_24_hours(
    issuer: CertificateAuthority, workload: WorkloadIdentity, now: datetime
) -> None:
    leaf = _leaf_for(issuer, workload, now)
    assert leaf.not_valid_after_utc - now == timedelta(hours=24)
    assert leaf.not_valid_before_utc <= now


def test_leaf_is_clamped_to_a_short_lived_issuer(
    anchor: CertificateAuthority,
    new_issuer: Callable[..., CertificateAuthority],
    workload: WorkloadIdentity,
    now: datetime,
) -> None:
    issuer = new_issuer(anchor, now, lifetime=timedelta(hours=2))
    leaf = _leaf_for(issuer, workload, now)
    assert leaf.not_valid_after_utc == issuer.certificate.not_valid_after_utc == now + timedelta(hours=2)


def test_issuer_is_clamped_to_the_anchor(
    new_anchor: Callable[..., CertificateAuthority],
    new_issuer: Callable[..., CertificateAuthority],
    now: datetime,
) -> None:
    anchor = new_anchor(now, lifetime=timedelta(hours=5))
    issuer = new_issuer(anchor, now, lifetime=timedelta(days=30))
    assert issuer.certificate.not_valid_after_utc == anchor.certificate.not_valid_after_utc


def test_leaf_is_clamped_to_the_anchor_even_when_the_issuer_outlives_it(
    new_anchor: Callable[..., CertificateAuthority], workload: WorkloadIdentity, now: datetime
) -> None:
    anchor = new_anchor(now, lifetime=timedelta(hours=3))
    # An issuer minted elsewhere that (wrongly) outlives its anchor.
    key = generate_private_key()
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "long issuer")]))
        .issuer_name(anchor.certificate.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(anchor.key, hashes.SHA256())
    )
    issuer = CertificateAuthority(certificate=cert, key=key, anchor=anchor.certificate)
    leaf = _leaf_for(issuer, workload, now)
    assert leaf.not_valid_after_utc == now + timedelta(hours=3)


def test_issuing_from_an_expired_issuer_is_refused(
    new_anchor: Callable[..., CertificateAuthority],
    new_issuer: Callable[..., CertificateAuthority],
    workload: WorkloadIdentity,
    now: datetime,
) -> None:
    anchor = new_anchor(now - timedelta(hours=3))
    issuer = new_issuer(anchor, now - timedelta(hours=2), lifetime=timedelta(hours=1))
    with pytest.raises(CertificateExpired, match="issuer"):
        _leaf_for(issuer, workload, now)


def test_issuer_is_a_path_length_zero_ca_constrained_to_the_trust_domain(
    issuer: CertificateAuthority,
) -> None:
    ext = issuer.certificate.extensions
    bc = ext.get_extension_for_class(x509.BasicConstraints)
    assert bc.critical
    assert bc.value.ca
    assert bc.value.path_length == 0
    nc = ext.get_extension_for_class(x509.NameConstraints)
    assert nc.critical
    assert nc.value.permitted_subtrees == [x509.DNSName("cluster.local")]
    assert nc.value.excluded_subtrees is None


def test_a_leaf_outside_the_trust_domain_does_not_verify(
    anchor: CertificateAuthority, issuer: CertificateAuthority, now: datetime
) -> None:
    elsewhere = WorkloadIdentity(
        namespace="shop", service_account="web", domain=IdentityDomain("other.example", "meshfleet")
    )
    leaf = _leaf_for(issuer, elsewhere, now)
    with pytest.raises(UntrustedChain, match="does not permit"):
        verify_chain(leaf, [anchor.certificate], intermediates=[issuer.certificate], now=now)
    verifier = (
        verification.PolicyBuilder()
        .store(verification.Store([anchor.certificate]))
        .time(now + timedelta(minutes=1))
        .build_client_verifier()
    )
    with pytest.raises(verification.VerificationError):
        verifier.verify(leaf, [issuer.certificate])


def test_an_issuer_cannot_sign_another_ca(
    anchor: CertificateAuthority,
    issuer: CertificateAuthority,
    new_issuer: Callable[..., CertificateAuthority],
    workload: WorkloadIdentity,
    now: datetime,
) -> None:
    # pathLen 0: a CA below the issuer breaks the chain.
    sub = new_issuer(issuer, now)
    leaf = _leaf_for(sub, workload, now)
    with pytest.raises(UntrustedChain, match="allows 0"):
        verify_chain(leaf, [anchor.certificate], intermediates=[sub.certificate, issuer.certificate], now=now)
