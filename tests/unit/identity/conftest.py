"""An identity service on 127.0.0.1 with fresh PKI material and an in-process TokenReviewer."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from identity_fixtures import DOMAIN, Env, StaticReviewer, make_anchor, make_issuer, write_issuer
from prometheus_client import CollectorRegistry

from mesh.control.identity import IdentityService, ServiceConfig
from mesh.pki import certificates_to_pem, write_file_atomic


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[Env]:
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
    config = ServiceConfig(
        issuer_dir=issuer_dir,
        trust_anchors=anchors_file,
        domain=DOMAIN,
        listen=("127.0.0.1", 0),
        admin_listen=("127.0.0.1", 0),
        rate_per_second=0.5,
        rate_burst=3,
        poll_interval=0.05,
        settle=0.02,
    )
    service = IdentityService(config, reviewer, post_event=post_event, registry=CollectorRegistry())
    await service.start()
    try:
        yield Env(anchor, issuer, issuer_dir, anchors_file, reviewer, service, events)
    finally:
        await service.stop()

