"""Helpers for identity tests: fresh PKI material, JWT-shaped tokens, an in-process TokenReviewer."""

from __future__ import annotations

import asyncio
import base64
import json
import ssl
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from prometheus_client import CollectorRegistry

from mesh.control.identity import IdentityService, ServiceConfig, TokenReview
from mesh.control.identity.errors import ApiUnavailable
from mesh.pki import (
    CertificateAuthority,
    IdentityDomain,
    WorkloadIdentity,
    certificates_to_pem,
    generate_private_key,
    issue_issuer,
    issue_trust_anchor,
    write_file_atomic,
    write_private_key_file,
)

DOMAIN = IdentityDomain(trust_domain="cluster.local", mesh_namespace="meshfleet")
AUDIENCE = "identity.meshfleet.io"


def make_token(sub: str, *, aud: str | list[str] = AUDIENCE, lifetime: float = 600.0) -> str:
    """A JWT-shaped token; only its claims matter here, the reviewer decides if it is genuine."""

    def part(obj: object) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()

    return ".".join([part({"alg": "none"}), part({"sub": sub, "aud": aud, "exp": time.time() + lifetime}), "sig"])


@dataclass
class StaticReviewer:
    """Knows a fixed set of tokens; can be switched into 'API server unreachable'."""

    known: dict[str, TokenReview] = field(default_factory=dict)
    down: bool = False
    calls: int = 0

    def allow(self, who: WorkloadIdentity, *, audiences: tuple[str, ...] = (AUDIENCE,)) -> str:
        token = make_token(who.service_account_username)
        self.known[token] = TokenReview(True, who.service_account_username, audiences)
        return token

    async def review(self, token: str, audiences: tuple[str, ...]) -> TokenReview:
        self.calls += 1
        if self.down:
            raise ApiUnavailable("connection refused")
        return self.known.get(token, TokenReview(False, error="invalid bearer token"))


def make_anchor(name: str = "anchor", now: datetime | None = None, days: int = 365) -> CertificateAuthority:
    key = generate_private_key()
    cert = issue_trust_anchor(key, common_name=name, now=now or datetime.now(UTC), lifetime=timedelta(days=days))
    return CertificateAuthority(certificate=cert, key=key)


def make_issuer(
    anchor: CertificateAuthority, *, now: datetime | None = None, lifetime: timedelta = timedelta(days=30)
) -> CertificateAuthority:
    key = generate_private_key()
    cert = issue_issuer(
        key.public_key(),
        anchor,
        trust_domain=DOMAIN.trust_domain,
        common_name="issuer",
        now=now or datetime.now(UTC),
        lifetime=lifetime,
    )
    return CertificateAuthority(certificate=cert, key=key, anchor=anchor.certificate)


def write_issuer(directory: Path, issuer: CertificateAuthority, anchors: list[CertificateAuthority]) -> None:
    """Lay the issuer out as a Secret volume would: tls.crt, tls.key, ca.crt."""
    directory.mkdir(exist_ok=True)
    write_file_atomic(directory / "tls.crt", certificates_to_pem([issuer.certificate]), mode=0o644)
    write_private_key_file(directory / "tls.key", issuer.key)
    write_file_atomic(directory / "ca.crt", certificates_to_pem([a.certificate for a in anchors]), mode=0o644)


def write_raw_issuer(directory: Path, cert_pem: bytes, key_pem: bytes) -> None:
    write_file_atomic(directory / "tls.crt", cert_pem, mode=0o644)
    write_file_atomic(directory / "tls.key", key_pem, mode=0o600)


@dataclass
class Env:
    anchor: CertificateAuthority
    issuer: CertificateAuthority
    issuer_dir: Path
    anchors_file: Path
    reviewer: StaticReviewer
    service: IdentityService
    events: list[tuple[str, str]]

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.service.port}/v1/certify"

    def client_context(self, anchors: list[CertificateAuthority] | None = None) -> ssl.SSLContext:
        pem = certificates_to_pem([a.certificate for a in anchors or [self.anchor]]).decode()
        return ssl.create_default_context(cadata=pem)

    @property
    def server_name(self) -> str:
        return self.service.config.self_identity.dns_name


async def wait_for(condition: Callable[[], bool], seconds: float = 5.0) -> None:
    """Poll `condition` until it holds; fail the test after `seconds`."""
    async with asyncio.timeout(seconds):
        while True:
            if condition():
                return
            await asyncio.sleep(0.02)


@asynccontextmanager
async def running_env(tmp_path: Path, **overrides: object) -> AsyncIterator[Env]:
    """A started identity service with fresh PKI material; `overrides` change its ServiceConfig."""
    anchor = make_anchor()
    issuer = make_issuer(anchor)
    issuer_dir = tmp_path / "issuer"
    write_issuer(issuer_dir, issuer, [anchor])
    anchors_file = tmp_path / "anchors.pem"
    write_file_atomic(anchors_file, certificates_to_pem([anchor.certificate]), mode=0o644)
    events: list[tuple[str, str]] = []

    async def post_event(reason: str, message: str) -> None:
        events.append((reason, message))

    reviewer = StaticReviewer()
    settings: dict[str, object] = {
        "listen": ("127.0.0.1", 0),
        "admin_listen": ("127.0.0.1", 0),
        "rate_per_second": 0.5,
        "rate_burst": 3,
        "poll_interval": 0.05,
        "settle": 0.02,
        **overrides,
    }
    config = ServiceConfig(issuer_dir=issuer_dir, trust_anchors=anchors_file, domain=DOMAIN, **settings)  # type: ignore[arg-type]
    service = IdentityService(config, reviewer, post_event=post_event, registry=CollectorRegistry())
    await service.start()
    env = Env(anchor, issuer, issuer_dir, anchors_file, reviewer, service, events)
    try:
        yield env
    finally:
        await env.service.stop()
