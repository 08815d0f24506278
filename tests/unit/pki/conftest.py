"""Key and certificate material for PKI tests, generated fresh for every test session."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from mesh.pki import (
    CertificateAuthority,
    IdentityDomain,
    PrivateKey,
    WorkloadIdentity,
    generate_private_key,
    issue_issuer,
    issue_trust_anchor,
)

TRUST_DOMAIN = "cluster.local"
MESH_NAMESPACE = "meshfleet"


@pytest.fixture
def now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


@pytest.fixture
def domain() -> IdentityDomain:
    return IdentityDomain(trust_domain=TRUST_DOMAIN, mesh_namespace=MESH_NAMESPACE)


@pytest.fixture
def workload(domain: IdentityDomain) -> WorkloadIdentity:
    return WorkloadIdentity(namespace="shop", service_account="web", domain=domain)


def make_anchor(now: datetime, lifetime: timedelta = timedelta(days=365), name: str = "anchor") -> CertificateAuthority:
    key = generate_private_key()
    cert = issue_trust_anchor(key, common_name=name, now=now, lifetime=lifetime)
    return CertificateAuthority(certificate=cert, key=key)


def make_issuer(
    anchor: CertificateAuthority,
    now: datetime,
    lifetime: timedelta = timedelta(days=30),
    trust_domain: str = TRUST_DOMAIN,
) -> CertificateAuthority:
    key: PrivateKey = generate_private_key()
    cert = issue_issuer(
        key.public_key(), anchor, trust_domain=trust_domain, common_name="issuer", now=now, lifetime=lifetime
    )
    return CertificateAuthority(certificate=cert, key=key, anchor=anchor.certificate)


@pytest.fixture
def new_anchor() -> Callable[..., CertificateAuthority]:
    return make_anchor


@pytest.fixture
def new_issuer() -> Callable[..., CertificateAuthority]:
    return make_issuer


@pytest.fixture
def anchor(now: datetime) -> CertificateAuthority:
    return make_anchor(now)


@pytest.fixture
def issuer(anchor: CertificateAuthority, now: datetime) -> CertificateAuthority:
    return make_issuer(anchor, now)
