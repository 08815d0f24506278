"""The certify contract over real HTTPS on 127.0.0.1, with an in-process TokenReviewer."""

from __future__ import annotations

import dataclasses
import logging
import socket
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from identity_fixtures import DOMAIN, Env, TokenReview, make_token
from prometheus_client import CollectorRegistry

from mesh.control.identity import (
    ApiCredentials,
    CachingTokenReviewer,
    IdentityService,
    KubeApi,
    KubernetesTokenReviewer,
)
from mesh.pki import (
    WorkloadIdentity,
    create_csr,
    csr_to_pem,
    generate_private_key,
    key_matches_certificate,
    parse_bundle,
    verify_chain,
)

WEB = WorkloadIdentity(namespace="shop", service_account="web", domain=DOMAIN)
DB = WorkloadIdentity(namespace="shop", service_account="db", domain=DOMAIN)


async def certify(env: Env, body: Any, *, raw: bytes | None = None) -> tuple[int, dict[str, Any], dict[str, str]]:
    async with aiohttp.ClientSession() as s:
        async with s.post(
            env.url,
            data=raw if raw is not None else None,
            json=body if raw is None else None,
            ssl=env.client_context(),
            server_hostname=env.server_name,
        ) as resp:
            return resp.status, await resp.json(), dict(resp.headers)


def request_for(who: WorkloadIdentity, token: str) -> tuple[dict[str, str], Any]:
    key = generate_private_key()
    return {"identity": who.dns_name, "csr": csr_to_pem(create_csr(key, who)), "token": token}, key


async def test_a_valid_request_gets_a_24h_leaf_that_chains_to_the_anchor(env: Env) -> None:
    body, key = request_for(WEB, env.reviewer.allow(WEB))
    status, answer, _ = await certify(env, body)

    assert status == 200
    assert set(answer) == {"certificate", "chain", "valid_until"}
    leaf = x509.load_pem_x509_certificate(answer["certificate"].encode())
    chain = [x509.load_pem_x509_certificate(c.encode()) for c in answer["chain"]]
    assert chain == [env.issuer.certificate]
    now = datetime.now(UTC)
    assert verify_chain(leaf, [env.anchor.certificate], intermediates=chain, now=now)[-1] == env.anchor.certificate
    assert key_matches_certificate(key, leaf)
    san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["web.shop.serviceaccount.identity.meshfleet.cluster.local"]
    assert san.get_values_for_type(x509.UniformResourceIdentifier) == ["spiffe://cluster.local/ns/shop/sa/web"]
    assert len(list(san)) == 2
    assert answer["valid_until"] == leaf.not_valid_after_utc.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert abs(leaf.not_valid_after_utc - (now + timedelta(hours=24))) < timedelta(seconds=10)


def _rsa_csr() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, WEB.dns_name[:60])]))
        .sign(key, hashes.SHA256())
    )
    return csr.public_bytes(serialization.Encoding.PEM).decode()


def _tampered_csr() -> str:
    der = create_csr(generate_private_key(), WEB).public_bytes(serialization.Encoding.DER)
    bad = der.replace(b"shop", b"shoq", 1)
    return x509.load_der_x509_csr(bad).public_bytes(serialization.Encoding.PEM).decode()


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"token": None}, "malformed-request"),
        ({"identity": 7}, "malformed-request"),
        ({"identity": "web.shop.serviceaccount.identity.meshfleet.elsewhere"}, "malformed-identity"),
        ({"csr": "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n"}, "malformed-csr"),
        ({"csr": "rsa"}, "unsupported-key"),
        ({"csr": "tampered"}, "bad-csr-signature"),
    ],
)
async def test_malformed_requests_are_400(env: Env, change: dict[str, Any], code: str) -> None:
    body: dict[str, Any] = dict(request_for(WEB, env.reviewer.allow(WEB))[0])
    body.update(change)
    if body["csr"] == "rsa":
        body["csr"] = _rsa_csr()
    elif body["csr"] == "tampered":
        body["csr"] = _tampered_csr()
    body = {k: v for k, v in body.items() if v is not None}
    status, answer, _ = await certify(env, body)
    assert status == 400
    assert set(answer) == {"error", "message"}
    assert answer["error"] == code
    assert answer["message"]


async def test_a_body_that_is_not_json_is_400(env: Env) -> None:
    status, answer, _ = await certify(env, None, raw=b"{not json")
    assert (status, answer["error"]) == (400, "malformed-request")


async def test_a_token_the_api_server_rejects_is_401(env: Env) -> None:
    body, _ = request_for(WEB, make_token(WEB.service_account_username))  # never issued by the reviewer
    status, answer, _ = await certify(env, body)
    assert status == 401
    assert answer == {"error": "token-rejected", "message": "the token was rejected by TokenReview"}


async def test_a_token_for_another_audience_is_401_without_asking_the_api_server(env: Env) -> None:
    body, _ = request_for(WEB, make_token(WEB.service_account_username, aud="https://kubernetes.default.svc"))
    status, answer, _ = await certify(env, body)
    assert status == 401
    assert answer == {
        "error": "wrong-audience",
        "message": "the token is not meant for audience 'identity.meshfleet.io'",
    }
    assert env.reviewer.calls == 0


async def test_a_review_that_does_not_confirm_the_audience_is_401(env: Env) -> None:
    token = make_token(WEB.service_account_username, aud=["identity.meshfleet.io"])
    env.reviewer.known[token] = TokenReview(True, WEB.service_account_username, ("other",))
    body, _ = request_for(WEB, token)
    status, answer, _ = await certify(env, body)
    assert (status, answer["error"]) == (401, "wrong-audience")


async def test_asking_for_another_service_accounts_identity_is_403(env: Env) -> None:
    body, _ = request_for(DB, env.reviewer.allow(WEB))
    status, answer, _ = await certify(env, body)
    assert status == 403
    assert answer == {
        "error": "identity-mismatch",
        "message": "the token belongs to system:serviceaccount:shop:web, which may not be "
        "db.shop.serviceaccount.identity.meshfleet.cluster.local",
    }


async def test_a_service_account_over_its_rate_is_429_and_others_are_not(env: Env) -> None:
    token = env.reviewer.allow(WEB)
    statuses = [(await certify(env, request_for(WEB, token)[0]))[0] for _ in range(3)]
    assert statuses == [200, 200, 200]  # the burst
    status, answer, headers = await certify(env, request_for(WEB, token)[0])
    assert status == 429
    assert answer["error"] == "rate-limited"
    assert "system:serviceaccount:shop:web" in answer["message"]
    assert int(headers["Retry-After"]) >= 1
    # Another ServiceAccount has its own bucket.
    assert (await certify(env, request_for(DB, env.reviewer.allow(DB))[0]))[0] == 200


async def test_an_unreachable_api_server_is_503(env: Env) -> None:
    body, _ = request_for(WEB, env.reviewer.allow(WEB))
    env.reviewer.down = True
    status, answer, _ = await certify(env, body)
    assert status == 503
    assert answer == {"error": "api-unavailable", "message": "cannot review the token now: connection refused"}


async def test_the_kubernetes_reviewer_with_no_api_server_behind_it_gives_503(env: Env) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed_port = s.getsockname()[1]
    api = KubeApi(ApiCredentials(server=f"https://127.0.0.1:{closed_port}", token="t"), timeout=2.0)
    config = dataclasses.replace(env.service.config, admin_listen=None)
    service = IdentityService(config, CachingTokenReviewer(KubernetesTokenReviewer(api)), registry=CollectorRegistry())
    await service.start()
    try:
        other = dataclasses.replace(env, service=service)
        status, answer, _ = await certify(other, request_for(WEB, make_token(WEB.service_account_username))[0])
    finally:
        await service.stop()
        await api.close()
    assert status == 503
    assert answer["error"] == "api-unavailable"
    assert f"127.0.0.1:{closed_port} is unreachable" in answer["message"]


async def test_probes_and_metrics(env: Env) -> None:
    body, _ = request_for(WEB, env.reviewer.allow(WEB))
    await certify(env, body)
    await certify(env, request_for(DB, env.reviewer.allow(WEB))[0])
    base = f"http://127.0.0.1:{env.service.admin_port}"
    async with aiohttp.ClientSession() as s:
        for path in ("/live", "/ready"):
            async with s.get(base + path) as resp:
                assert resp.status == 200
        async with s.get(base + "/metrics") as resp:
            text = await resp.text()
    assert "identity_certificates_issued_total 1.0" in text
    assert 'identity_certify_refusals_total{reason="identity-mismatch"} 1.0' in text
    assert "identity_certify_duration_seconds_count 2.0" in text
    ttl = next(float(line.split()[1]) for line in text.splitlines() if line.startswith("issuer_cert_ttl_seconds "))
    expected = (env.issuer.certificate.not_valid_after_utc - datetime.now(UTC)).total_seconds()
    assert abs(ttl - expected) < 60
    assert "PRIVATE KEY" not in text


async def test_nothing_logged_contains_key_material(env: Env, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    for who in (WEB, DB):
        await certify(env, request_for(who, env.reviewer.allow(who))[0])
    await certify(env, request_for(DB, env.reviewer.allow(WEB))[0])
    assert caplog.records
    assert "PRIVATE KEY" not in caplog.text
    assert "BEGIN" not in caplog.text


def test_the_anchor_bundle_is_public(env: Env) -> None:
    assert parse_bundle(env.anchors_file.read_bytes()) == (env.anchor.certificate,)
