"""Webhook signature checks, as pure functions: each provider's good, bad and missing signatures."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from fleet.source import Provider, WebhookSecret, sign, verify

SECRET = WebhookSecret(b"It's a Secret to Everybody")
BODY = b'{"ref": "refs/heads/main", "after": "5d1c2a"}'


def github_signature(body: bytes, key: bytes) -> str:
    # Computed independently of the code under test, as GitHub documents it.
    return "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest()


def test_sign_matches_the_github_definition() -> None:
    assert sign(BODY, SECRET) == github_signature(BODY, SECRET.value)


@pytest.mark.parametrize(
    ("header", "provider"),
    [("X-Hub-Signature-256", Provider.GITHUB), ("X-Meshfleet-Signature", Provider.GENERIC)],
)
def test_hmac_providers(header: str, provider: Provider) -> None:
    good = verify({header: github_signature(BODY, SECRET.value)}, BODY, SECRET)
    assert (good.accepted, good.provider) == (True, provider)

    other_key = verify({header: github_signature(BODY, b"guess")}, BODY, SECRET)
    tampered = verify({header: github_signature(BODY, SECRET.value)}, BODY + b" ", SECRET)
    no_prefix = verify({header: hmac.new(SECRET.value, BODY, hashlib.sha256).hexdigest()}, BODY, SECRET)
    garbage = verify({header: "sha256=\u00e9\u00e9"}, BODY, SECRET)
    for verdict in (other_key, tampered, no_prefix, garbage):
        assert (verdict.accepted, verdict.provider) == (False, provider)
        assert verdict.reason == f"{header} does not match"


def test_header_names_are_case_insensitive() -> None:
    assert verify({"x-hub-signature-256": github_signature(BODY, SECRET.value)}, BODY, SECRET).accepted


def test_gitlab_token() -> None:
    good = verify({"X-Gitlab-Token": SECRET.value.decode()}, BODY, SECRET)
    assert (good.accepted, good.provider) == (True, Provider.GITLAB)
    bad = verify({"X-Gitlab-Token": "It's a Secret to Everybod"}, BODY, SECRET)
    assert (bad.accepted, bad.reason) == (False, "X-Gitlab-Token does not match")


def test_missing_signature_is_refused() -> None:
    verdict = verify({"Content-Type": "application/json"}, BODY, SECRET)
    assert not verdict.accepted
    assert verdict.provider is None
    assert verdict.reason.startswith("no signature header")


def test_an_empty_secret_accepts_nothing() -> None:
    assert not verify({"X-Gitlab-Token": ""}, BODY, WebhookSecret(b"")).accepted


def test_the_secret_never_shows_in_reprs_or_reasons() -> None:
    verdicts = [
        verify({"X-Gitlab-Token": "wrong"}, BODY, SECRET),
        verify({"X-Hub-Signature-256": "sha256=00"}, BODY, SECRET),
        verify({}, BODY, SECRET),
    ]
    shown = repr(SECRET) + "".join(repr(v) for v in verdicts)
    assert "Secret to Everybody" not in shown
    assert "wrong" not in shown
