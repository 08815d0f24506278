"""Trust bundles: parsing, validation, merging, de-duplication, and chain checks against them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import pytest

from mesh.pki import (
    CertificateAuthority,
    certificates_to_pem,
    generate_private_key,
    load_certificate_authority,
    merge_bundles,
    parse_bundle,
    private_key_to_pem,
    validate_bundle,
    verify_chain,
)
from mesh.pki.errors import (
    BundleError,
    CertificateExpired,
    KeyMismatch,
    NotACertificateAuthority,
    PrivateKeyInBundle,
    UntrustedChain,
)


def test_parse_bundle_returns_every_certificate_in_order(
    new_anchor: Callable[..., CertificateAuthority], now: datetime
) -> None:
    a, b = new_anchor(now, name="a").certificate, new_anchor(now, name="b").certificate
    assert parse_bundle(certificates_to_pem([a, b])) == (a, b)


def test_merge_keeps_first_occurrence_order_and_drops_duplicates(
    new_anchor: Callable[..., CertificateAuthority], now: datetime
) -> None:
    a, b, c = (new_anchor(now, name=n).certificate for n in "abc")
    old, new = parse_bundle(certificates_to_pem([a, b])), parse_bundle(certificates_to_pem([b, c, a]))
    assert merge_bundles(old, new) == (a, b, c)
    assert merge_bundles(old, old) == (a, b)


def test_a_bundle_holding_a_private_key_is_refused_without_echoing_it(anchor: CertificateAuthority) -> None:
    key_pem = private_key_to_pem(generate_private_key())
    with pytest.raises(PrivateKeyInBundle) as info:
        parse_bundle(certificates_to_pem([anchor.certificate]) + key_pem)
    body = key_pem.decode().splitlines()[1]
    assert body not in str(info.value)


@pytest.mark.parametrize(
    "pem",
    [b"", b"not pem", b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"],
)
def test_an_unparsable_bundle_is_refused(pem: bytes) -> None:
    with pytest.raises(BundleError):
        parse_bundle(pem)


def test_validate_bundle_names_expired_and_non_ca_entries(
    new_anchor: Callable[..., CertificateAuthority],
    issuer: CertificateAuthority,
    anchor: CertificateAuthority,
    now: datetime,
) -> None:
    validate_bundle([anchor.certificate], now)
    expired = new_anchor(now - timedelta(days=2), lifetime=timedelta(days=1), name="old-anchor").certificate
    with pytest.raises(BundleError, match="old-anchor.*expired"):
        validate_bundle([anchor.certificate, expired], now)
    # The issuer is a CA, so that is fine; a leaf would not be, and an empty bundle is not.
    validate_bundle([issuer.certificate], now)
    with pytest.raises(BundleError, match="empty"):
        validate_bundle([], now)


def test_an_issuer_verifies_against_a_bundle_holding_its_anchor(
    anchor: CertificateAuthority,
    issuer: CertificateAuthority,
    new_anchor: Callable[..., CertificateAuthority],
    now: datetime,
) -> None:
    other = new_anchor(now, name="other").certificate
    assert verify_chain(issuer.certificate, [other, anchor.certificate], now=now) == (
        issuer.certificate,
        anchor.certificate,
    )
    with pytest.raises(UntrustedChain, match="does not chain"):
        verify_chain(issuer.certificate, [other], now=now)


def test_an_expired_issuer_fails_chain_verification(
    anchor: CertificateAuthority, new_issuer: Callable[..., CertificateAuthority], now: datetime
) -> None:
    issuer = new_issuer(anchor, now, lifetime=timedelta(hours=1))
    with pytest.raises(CertificateExpired):
        verify_chain(issuer.certificate, [anchor.certificate], now=now + timedelta(hours=2))


def test_load_certificate_authority_checks_ca_key_and_chain(
    anchor: CertificateAuthority,
    issuer: CertificateAuthority,
    new_anchor: Callable[..., CertificateAuthority],
    now: datetime,
) -> None:
    cert_pem = certificates_to_pem([issuer.certificate])
    loaded = load_certificate_authority(cert_pem, private_key_to_pem(issuer.key), (anchor.certificate,), now=now)
    assert loaded.certificate == issuer.certificate
    assert loaded.anchor == anchor.certificate

    stranger_key = private_key_to_pem(generate_private_key())
    with pytest.raises(KeyMismatch):
        load_certificate_authority(cert_pem, stranger_key, (anchor.certificate,), now=now)
    other = new_anchor(now, name="other").certificate
    with pytest.raises(UntrustedChain):
        load_certificate_authority(cert_pem, private_key_to_pem(issuer.key), (other,), now=now)


def test_a_leaf_is_not_accepted_as_an_issuer(
    anchor: CertificateAuthority, issuer: CertificateAuthority, now: datetime
) -> None:
    from mesh.pki import IdentityDomain, WorkloadIdentity, create_csr, csr_to_pem, issue_leaf, parse_csr

    who = WorkloadIdentity("shop", "web", IdentityDomain("cluster.local", "meshfleet"))
    key = generate_private_key()
    leaf = issue_leaf(issuer, parse_csr(csr_to_pem(create_csr(key, who))), who, now=now).certificate
    with pytest.raises(NotACertificateAuthority):
        load_certificate_authority(
            certificates_to_pem([leaf, issuer.certificate]), private_key_to_pem(key), (anchor.certificate,), now=now
        )
