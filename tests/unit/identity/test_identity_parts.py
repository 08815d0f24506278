"""The identity service's pure parts: rate limiting, token claims, review caching, kubeconfig, TokenReview answers."""

from __future__ import annotations

import asyncio
import base64
import json
from pathlib import Path

import pytest
from identity_fixtures import make_token

from mesh.control.identity import (
    CachingTokenReviewer,
    TokenBuckets,
    TokenReview,
    parse_certify_request,
    parse_kubeconfig,
)
from mesh.control.identity._jwt import unverified_claims
from mesh.control.identity._kubeapi import in_cluster_credentials, parse_token_review
from mesh.control.identity.errors import ApiUnavailable, BadRequest, ConfigError


def test_token_bucket_allows_a_burst_then_refills_at_the_rate() -> None:
    buckets = TokenBuckets(rate=2.0, burst=3)
    assert [buckets.take("sa", 0.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert buckets.take("sa", 0.0) == pytest.approx(0.5)
    assert buckets.take("sa", 0.5) == 0.0  # one token back after 1/rate seconds
    assert buckets.take("sa", 0.5) > 0
    assert buckets.take("other", 0.5) == 0.0


def test_token_buckets_forget_idle_service_accounts() -> None:
    buckets = TokenBuckets(rate=1.0, burst=1, max_keys=2)
    buckets.take("a", 0.0)
    buckets.take("b", 0.0)
    buckets.take("c", 10.0)  # a and b are full again by now and are dropped
    assert len(buckets) == 1


def test_unverified_claims_read_exp_and_aud() -> None:
    claims = unverified_claims(make_token("u", aud=["x", "y"], lifetime=60))
    assert claims is not None
    assert claims.audiences == ("x", "y")
    assert claims.expires_at is not None
    assert unverified_claims("not-a-jwt") is None
    assert unverified_claims("a.!!!.c") is None


class CountingReviewer:
    def __init__(self, answer: TokenReview, delay: float = 0.0) -> None:
        self.answer, self.delay, self.calls = answer, delay, 0

    async def review(self, token: str, audiences: tuple[str, ...]) -> TokenReview:
        self.calls += 1
        await asyncio.sleep(self.delay)
        return self.answer


async def test_positive_reviews_are_cached_no_longer_than_the_token_lives() -> None:
    now = [1000.0]
    inner = CountingReviewer(TokenReview(True, "system:serviceaccount:a:b", ("aud",)))
    cache = CachingTokenReviewer(inner, max_ttl=3600, clock=lambda: now[0])
    # A token that expires at t=1030 on the fake clock.
    payload = base64.urlsafe_b64encode(json.dumps({"exp": 1030}).encode()).rstrip(b"=").decode()
    token = f"e30.{payload}.sig"

    await cache.review(token, ("aud",))
    now[0] = 1029.0
    await cache.review(token, ("aud",))
    assert inner.calls == 1
    now[0] = 1030.0  # the token's exp: the cached verdict is gone
    await cache.review(token, ("aud",))
    assert inner.calls == 2


async def test_the_cache_has_its_own_cap_and_never_keeps_refusals() -> None:
    now = [0.0]
    inner = CountingReviewer(TokenReview(True, "system:serviceaccount:a:b", ("aud",)))
    cache = CachingTokenReviewer(inner, max_ttl=10, clock=lambda: now[0])
    token = make_token("u", lifetime=3600)
    await cache.review(token, ("aud",))
    now[0] = 11.0
    await cache.review(token, ("aud",))
    assert inner.calls == 2

    refusing = CountingReviewer(TokenReview(False))
    cache = CachingTokenReviewer(refusing, clock=lambda: 0.0)
    await cache.review(token, ("aud",))
    await cache.review(token, ("aud",))
    assert refusing.calls == 2
    assert len(cache) == 0


async def test_concurrent_reviews_of_one_token_share_one_call() -> None:
    inner = CountingReviewer(TokenReview(True, "system:serviceaccount:a:b", ("aud",)), delay=0.05)
    cache = CachingTokenReviewer(inner)
    token = make_token("u")
    results = await asyncio.gather(*(cache.review(token, ("aud",)) for _ in range(20)))
    assert inner.calls == 1
    assert all(r.authenticated for r in results)


def test_parse_kubeconfig_with_a_client_certificate(tmp_path: Path) -> None:
    (tmp_path / "ca.crt").write_bytes(b"CA")
    doc = {
        "current-context": "local",
        "contexts": [{"name": "local", "context": {"cluster": "c", "user": "u"}}],
        "clusters": [
            {"name": "c", "cluster": {"server": "https://127.0.0.1:6443/", "certificate-authority": "ca.crt"}}
        ],
        "users": [
            {
                "name": "u",
                "user": {
                    "client-certificate-data": base64.b64encode(b"CERT").decode(),
                    "client-key-data": base64.b64encode(b"KEY").decode(),
                },
            }
        ],
    }
    creds = parse_kubeconfig(doc, base=tmp_path, source="kc")
    assert creds.server == "https://127.0.0.1:6443"
    assert (creds.ca_pem, creds.client_cert_pem, creds.client_key_pem) == (b"CA", b"CERT", b"KEY")
    assert "KEY" not in repr(creds)


def test_parse_kubeconfig_names_what_is_missing(tmp_path: Path) -> None:
    doc = {"current-context": "x", "contexts": [{"name": "x", "context": {"cluster": "gone"}}], "clusters": []}
    with pytest.raises(ConfigError, match="kc: no cluster named 'gone'"):
        parse_kubeconfig(doc, base=tmp_path, source="kc")


def test_in_cluster_credentials_need_the_service_host(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="KUBERNETES_SERVICE_HOST"):
        in_cluster_credentials({}, tmp_path)
    (tmp_path / "ca.crt").write_bytes(b"CA")
    creds = in_cluster_credentials({"KUBERNETES_SERVICE_HOST": "10.0.0.1", "KUBERNETES_SERVICE_PORT": "443"}, tmp_path)
    assert creds.server == "https://10.0.0.1:443"
    assert creds.token_file == tmp_path / "token"


def test_token_review_answers_parse() -> None:
    review = parse_token_review(
        {
            "status": {
                "authenticated": True,
                "user": {"username": "system:serviceaccount:shop:web"},
                "audiences": ["identity.meshfleet.io"],
            }
        }
    )
    assert review == TokenReview(True, "system:serviceaccount:shop:web", ("identity.meshfleet.io",))
    assert parse_token_review({"status": {"authenticated": False, "error": "expired"}}).error == "expired"
    with pytest.raises(ApiUnavailable):
        parse_token_review({"kind": "Status"})


def test_request_parsing_never_echoes_the_token() -> None:
    req = parse_certify_request(b'{"identity": "i", "csr": "c", "token": "secret-token"}')
    assert "secret-token" not in repr(req)
    with pytest.raises(BadRequest, match="non-empty string"):
        parse_certify_request(b'{"identity": "i", "csr": "", "token": "t"}')


def test_serve_reports_an_unusable_kubeconfig_and_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from mesh.control.identity import serve

    status = serve(["--issuer-dir", str(tmp_path), "--kubeconfig", str(tmp_path / "missing"), "--log-level", "error"])
    assert status == 2
    assert f"{tmp_path / 'missing'}: No such file or directory" in capsys.readouterr().err


def test_loading_a_key_into_a_tls_context_leaves_no_file_behind() -> None:
    import ssl
    import tempfile
    from datetime import UTC, datetime

    from identity_fixtures import DOMAIN, make_anchor, make_issuer

    from mesh.control.identity._tls import load_cert_chain_from_memory, server_context
    from mesh.pki import (
        WorkloadIdentity,
        certificates_to_pem,
        create_csr,
        csr_to_pem,
        generate_private_key,
        issue_leaf,
        parse_csr,
        private_key_to_pem,
    )

    who = WorkloadIdentity("meshfleet", "identity", DOMAIN)
    key = generate_private_key()
    leaf = issue_leaf(
        make_issuer(make_anchor()), parse_csr(csr_to_pem(create_csr(key, who))), who, now=datetime.now(UTC)
    )
    places = [Path("/dev/shm"), Path(tempfile.gettempdir())]

    def leftovers() -> set[Path]:
        return {p for place in places if place.is_dir() for p in place.glob("meshfleet-tls-*")}

    before = leftovers()
    ctx: ssl.SSLContext = server_context()
    load_cert_chain_from_memory(ctx, certificates_to_pem([leaf.certificate, *leaf.chain]), private_key_to_pem(key))
    assert leftovers() == before
