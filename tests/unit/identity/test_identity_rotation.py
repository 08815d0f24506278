"""Issuer rotation by rewriting the Secret's files: adopted without restart, or refused with the old one kept."""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest
from cryptography import x509
from identity_fixtures import (
    DOMAIN,
    Env,
    make_anchor,
    make_issuer,
    wait_for,
    write_issuer,
    write_raw_issuer,
)

from mesh.pki import (
    WorkloadIdentity,
    certificates_to_pem,
    create_csr,
    csr_to_pem,
    generate_private_key,
    issue_leaf,
    parse_csr,
    private_key_to_pem,
    verify_chain,
    write_file_atomic,
)

WEB = WorkloadIdentity(namespace="shop", service_account="web", domain=DOMAIN)


Answer = tuple[x509.Certificate, list[x509.Certificate]]


async def served_certificate(env: Env) -> x509.Certificate:
    """The certificate the service presents in a fresh TLS handshake (verified against the anchor)."""
    reader, writer = await asyncio.open_connection(
        "127.0.0.1", env.service.port, ssl=env.client_context(), server_hostname=env.server_name
    )
    try:
        tls: ssl.SSLObject = writer.get_extra_info("ssl_object")
        return x509.load_der_x509_certificate(tls.getpeercert(binary_form=True) or b"")
    finally:
        writer.close()
        await writer.wait_closed()


async def certify_web(env: Env, anchors: list[Any] | None = None) -> Answer:
    """Certify as WEB; return the leaf and its chain."""
    key = generate_private_key()
    body = {"identity": WEB.dns_name, "csr": csr_to_pem(create_csr(key, WEB)), "token": env.reviewer.allow(WEB)}
    async with aiohttp.ClientSession() as s:
        async with s.post(env.url, json=body, ssl=env.client_context(anchors), server_hostname=env.server_name) as resp:
            assert resp.status == 200, await resp.text()
            answer = await resp.json()
    leaf = x509.load_pem_x509_certificate(answer["certificate"].encode())
    return leaf, [x509.load_pem_x509_certificate(c.encode()) for c in answer["chain"]]


def _in_use(env: Env) -> x509.Certificate | None:
    current = env.service.watcher.current
    return None if current is None else current.certificate


async def test_a_new_issuer_from_the_same_anchor_is_used_without_restart(env: Env) -> None:
    new = make_issuer(env.anchor)
    write_issuer(env.issuer_dir, new, [env.anchor])
    await wait_for(lambda: _in_use(env) == new.certificate)

    leaf, chain = await certify_web(env)
    assert chain == [new.certificate]
    assert leaf.issuer == new.certificate.subject
    verify_chain(leaf, [env.anchor.certificate], intermediates=chain, now=datetime.now(UTC))
    # The service's own TLS certificate moved to the new issuer too.
    (await served_certificate(env)).verify_directly_issued_by(new.certificate)


async def test_an_issuer_from_a_new_anchor_is_used_once_the_bundle_holds_both(env: Env) -> None:
    new_anchor = make_anchor("anchor-2")
    new = make_issuer(new_anchor)
    both = [env.anchor, new_anchor]
    write_file_atomic(env.anchors_file, certificates_to_pem([a.certificate for a in both]), mode=0o644)
    write_issuer(env.issuer_dir, new, both)
    await wait_for(lambda: _in_use(env) == new.certificate)

    leaf, chain = await certify_web(env, anchors=both)
    path = verify_chain(leaf, [new_anchor.certificate], intermediates=chain, now=datetime.now(UTC))
    assert path[-1] == new_anchor.certificate


def _untrusted(env: Env) -> tuple[bytes, bytes]:
    stranger = make_issuer(make_anchor("stranger"))
    return certificates_to_pem([stranger.certificate]), private_key_to_pem(stranger.key)


def _expired(env: Env) -> tuple[bytes, bytes]:
    # Under an anchor that is in the bundle, so expiry is the only thing wrong with it.
    past = datetime.now(UTC) - timedelta(days=3)
    anchor = make_anchor("old-anchor", now=past)
    write_file_atomic(env.anchors_file, certificates_to_pem([env.anchor.certificate, anchor.certificate]), mode=0o644)
    expired = make_issuer(anchor, now=past, lifetime=timedelta(days=1))
    return certificates_to_pem([expired.certificate]), private_key_to_pem(expired.key)


def _not_a_ca(env: Env) -> tuple[bytes, bytes]:
    key = generate_private_key()
    leaf = issue_leaf(env.issuer, parse_csr(csr_to_pem(create_csr(key, WEB))), WEB, now=datetime.now(UTC))
    return certificates_to_pem([leaf.certificate, env.issuer.certificate]), private_key_to_pem(key)


def _key_mismatch(env: Env) -> tuple[bytes, bytes]:
    new = make_issuer(env.anchor)
    return certificates_to_pem([new.certificate]), private_key_to_pem(generate_private_key())


def _unreadable(env: Env) -> tuple[bytes, bytes]:
    return b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", private_key_to_pem(env.issuer.key)


@pytest.mark.parametrize(
    ("make_files", "reason"),
    [
        (_untrusted, "untrusted"),
        (_expired, "expired"),
        (_not_a_ca, "not-a-ca"),
        (_key_mismatch, "key-mismatch"),
        (_unreadable, "unreadable"),
    ],
)
async def test_an_invalid_issuer_is_refused_and_the_old_one_keeps_serving(
    env: Env,
    caplog: pytest.LogCaptureFixture,
    make_files: Callable[[Env], tuple[bytes, bytes]],
    reason: str,
) -> None:
    caplog.set_level(logging.DEBUG)
    cert_pem, key_pem = make_files(env)
    write_raw_issuer(env.issuer_dir, cert_pem, key_pem)
    await wait_for(lambda: bool(env.events))

    assert len(env.events) == 1
    event_reason, message = env.events[0]
    assert event_reason == "IssuerRejected"
    assert f"issuer refused ({reason})" in message
    assert "keeping CN=issuer" in message
    assert env.service.watcher.current is not None
    assert env.service.watcher.current.certificate == env.issuer.certificate
    refusals = env.service.metrics.registry.get_sample_value("identity_issuer_rejections_total", {"reason": reason})
    assert refusals == 1.0

    _, chain = await certify_web(env)
    assert chain == [env.issuer.certificate]
    assert any(reason in r.getMessage() and r.levelno == logging.WARNING for r in caplog.records)
    assert "PRIVATE KEY" not in caplog.text
    assert "PRIVATE KEY" not in message


async def test_a_bad_issuer_is_reported_once_not_on_every_poll(env: Env) -> None:
    cert_pem, key_pem = _key_mismatch(env)
    write_raw_issuer(env.issuer_dir, cert_pem, key_pem)
    await wait_for(lambda: bool(env.events))
    polls = 10
    for _ in range(polls):
        await env.service.watcher.poll_once()
    assert len(env.events) == 1
    # Putting the good files back is picked up again.
    write_issuer(env.issuer_dir, env.issuer, [env.anchor])
    await certify_web(env)
