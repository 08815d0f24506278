"""Identity names, key files, and expiry arithmetic."""

from __future__ import annotations

import os
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509 import verification

from mesh.pki import (
    CertificateAuthority,
    IdentityDomain,
    Validity,
    WorkloadIdentity,
    create_csr,
    csr_to_pem,
    generate_private_key,
    issue_leaf,
    key_matches_certificate,
    parse_csr,
    private_key_from_pem,
    private_key_to_pem,
    public_key_bytes,
    write_private_key_file,
)
from mesh.pki.errors import IdentityNameError, KeyFileError, PrivateKeyError


def test_dns_identity_and_spiffe_id_round_trip(domain: IdentityDomain) -> None:
    who = WorkloadIdentity(namespace="shop", service_account="web", domain=domain)
    assert who.dns_name == "web.shop.serviceaccount.identity.meshfleet.cluster.local"
    assert who.spiffe_id == "spiffe://cluster.local/ns/shop/sa/web"
    assert who.service_account_username == "system:serviceaccount:shop:web"
    assert WorkloadIdentity.parse_dns(who.dns_name, domain) == who
    assert WorkloadIdentity.parse_spiffe(who.spiffe_id, "meshfleet") == who
    assert WorkloadIdentity.from_username("system:serviceaccount:shop:web", domain) == who


def test_service_account_names_with_dots_parse_from_the_right(domain: IdentityDomain) -> None:
    who = WorkloadIdentity(namespace="shop", service_account="web.v2", domain=domain)
    assert WorkloadIdentity.parse_dns(who.dns_name, domain) == who


@pytest.mark.parametrize(
    "name",
    [
        "web.shop.serviceaccount.identity.meshfleet.other.local",
        "shop.serviceaccount.identity.meshfleet.cluster.local",
        "Web.shop.serviceaccount.identity.meshfleet.cluster.local",
        "web.sh_op.serviceaccount.identity.meshfleet.cluster.local",
    ],
)
def test_foreign_or_malformed_dns_identities_are_refused(name: str, domain: IdentityDomain) -> None:
    with pytest.raises(IdentityNameError):
        WorkloadIdentity.parse_dns(name, domain)


@pytest.mark.parametrize("user", ["alice", "system:serviceaccount:shop", "system:node:n1"])
def test_non_service_account_users_have_no_identity(user: str, domain: IdentityDomain) -> None:
    with pytest.raises(IdentityNameError):
        WorkloadIdentity.from_username(user, domain)


def test_long_identities_use_an_empty_subject_and_a_critical_san(
    anchor: CertificateAuthority, issuer: CertificateAuthority, domain: IdentityDomain, now: datetime
) -> None:
    who = WorkloadIdentity(namespace="payments-eu-west", service_account="settlement-batch-worker", domain=domain)
    assert len(who.dns_name) > 64
    key = generate_private_key()
    leaf = issue_leaf(issuer, parse_csr(csr_to_pem(create_csr(key, who))), who, now=now).certificate
    assert len(leaf.subject) == 0
    assert leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).critical
    verifier = (
        verification.PolicyBuilder()
        .store(verification.Store([anchor.certificate]))
        .time(now + timedelta(seconds=5))
        .build_client_verifier()
    )
    verifier.verify(leaf, [issuer.certificate])


def test_key_file_is_0600_from_creation_even_with_a_permissive_umask(tmp_path: Path) -> None:
    key = generate_private_key()
    path = tmp_path / "key.pem"
    old = os.umask(0)
    try:
        write_private_key_file(path, key)
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert public_key_bytes(private_key_from_pem(path.read_bytes())) == public_key_bytes(key)
    # Replacing it is atomic and keeps the mode; no temporary files are left behind.
    write_private_key_file(path, generate_private_key())
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["key.pem"]


def test_key_file_errors_name_the_path_not_the_key(tmp_path: Path) -> None:
    key = generate_private_key()
    secret_line = private_key_to_pem(key).decode().splitlines()[1]
    with pytest.raises(KeyFileError) as info:
        write_private_key_file(tmp_path / "missing-dir" / "key.pem", key)
    assert "missing-dir" in str(info.value)
    assert secret_line not in str(info.value)


def test_reading_a_non_p256_or_broken_key_names_the_source_only() -> None:
    with pytest.raises(PrivateKeyError, match="tls.key") as info:
        private_key_from_pem(b"-----BEGIN " + b"PRIVATE KEY-----\nQUJD\n-----END PRIVATE KEY-----\n", source="tls.key")
    assert "QUJD" not in str(info.value)


def test_key_matches_only_its_own_certificate(issuer: CertificateAuthority) -> None:
    assert key_matches_certificate(issuer.key, issuer.certificate)
    assert not key_matches_certificate(generate_private_key(), issuer.certificate)


def test_validity_arithmetic() -> None:
    start = datetime(2030, 1, 1, tzinfo=UTC)
    v = Validity(start, start + timedelta(hours=24))
    assert v.renew_at(0.7) == start + timedelta(hours=16, minutes=48)
    assert v.time_left(start + timedelta(hours=23)) == timedelta(hours=1)
    assert v.time_left(start + timedelta(hours=25)) == timedelta(0)
    assert v.fraction_elapsed(start + timedelta(hours=6)) == 0.25
    # A certificate received 4 h late renews at 70 % of what was left when it arrived.
    assert v.renew_at(0.7, received_at=start + timedelta(hours=4)) == start + timedelta(hours=18)
    with pytest.raises(ValueError, match="fraction"):
        v.renew_at(1.5)
