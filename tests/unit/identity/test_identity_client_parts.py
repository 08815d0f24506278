"""The identity client's pure parts: renewal schedule, backoff, HTTP framing, checking certify answers."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta

import pytest
from identity_fixtures import DOMAIN, make_anchor, make_issuer

from mesh.identity_client import Backoff, RenewalPolicy, read_answer
from mesh.identity_client._http import HttpResponse, build_post, parse_response
from mesh.identity_client.errors import BadAnswer, Refused, TransportError
from mesh.pki import (
    Validity,
    WorkloadIdentity,
    certificate_to_pem,
    create_csr,
    csr_to_pem,
    generate_private_key,
    issue_leaf,
    parse_csr,
)

T0 = datetime(2030, 1, 1, tzinfo=UTC)
WEB = WorkloadIdentity(namespace="shop", service_account="web", domain=DOMAIN)


def test_a_24h_leaf_is_renewed_at_70_percent() -> None:
    v = Validity(T0, T0 + timedelta(hours=24))
    assert RenewalPolicy().delay(v, received_at=T0, now=T0) == pytest.approx(0.7 * 24 * 3600)


def test_renewal_is_never_sooner_than_10s_nor_later_than_24h() -> None:
    short = Validity(T0, T0 + timedelta(seconds=5))
    assert RenewalPolicy().delay(short, received_at=T0, now=T0) == 10.0
    long = Validity(T0, T0 + timedelta(days=30))
    assert RenewalPolicy().delay(long, received_at=T0, now=T0) == 24 * 3600.0
    # Already past the renewal point (e.g. after a suspend): soon, but not in a tight loop.
    v = Validity(T0, T0 + timedelta(hours=1))
    assert RenewalPolicy().delay(v, received_at=T0, now=T0 + timedelta(minutes=59)) == 10.0


def test_a_backdated_leaf_is_scheduled_from_when_it_arrived() -> None:
    v = Validity(T0 - timedelta(seconds=20), T0 + timedelta(hours=24))
    assert RenewalPolicy().delay(v, received_at=T0, now=T0) == pytest.approx(0.7 * 24 * 3600)


def test_backoff_grows_to_its_cap_with_jitter_and_believes_retry_after() -> None:
    b = Backoff(base=1.0, cap=60.0, rng=random.Random(7))
    for attempt, ceiling in [(1, 1.0), (2, 2.0), (3, 4.0), (7, 60.0), (40, 60.0)]:
        d = b.delay(attempt)
        assert ceiling / 2 <= d <= ceiling
    assert b.delay(1, retry_after=30.0) == 30.0
    assert b.delay(1, retry_after=3600.0) == 60.0


def test_http_framing() -> None:
    req = build_post("identity.example", "/v1/certify", b"{}")
    assert req.startswith(b"POST /v1/certify HTTP/1.1\r\nHost: identity.example\r\n")
    assert req.endswith(b"Content-Length: 2\r\nAccept: application/json\r\nConnection: close\r\n\r\n{}")
    resp = parse_response(b"HTTP/1.1 429 Too Many Requests\r\nRetry-After: 3\r\nContent-Length: 2\r\n\r\n{}")
    assert resp == HttpResponse(429, {"retry-after": "3", "content-length": "2"}, b"{}")
    chunked = parse_response(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n")
    assert chunked.body == b"abcde"
    for bad in (b"garbage", b"SMTP 220 hi\r\n\r\n", b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nshort"):
        with pytest.raises(TransportError):
            parse_response(bad)


def _answer(status: int, doc: object, headers: dict[str, str] | None = None) -> HttpResponse:
    return HttpResponse(status, headers or {}, json.dumps(doc).encode())


def test_reading_answers() -> None:
    now = datetime.now(UTC)
    anchor = make_anchor()
    issuer = make_issuer(anchor)
    key = generate_private_key()
    leaf = issue_leaf(issuer, parse_csr(csr_to_pem(create_csr(key, WEB))), WEB, now=now)
    good = {"certificate": certificate_to_pem(leaf.certificate), "chain": [certificate_to_pem(issuer.certificate)]}
    anchors = (anchor.certificate,)

    creds = read_answer(_answer(200, good), key=key, identity=WEB, anchors=anchors, now=now)
    assert creds.certificate == leaf.certificate
    assert creds.chain == (issuer.certificate,)

    with pytest.raises(BadAnswer, match="not for our key"):
        read_answer(_answer(200, good), key=generate_private_key(), identity=WEB, anchors=anchors, now=now)
    other = WorkloadIdentity(namespace="shop", service_account="db", domain=DOMAIN)
    with pytest.raises(BadAnswer, match="does not name"):
        read_answer(_answer(200, good), key=key, identity=other, anchors=anchors, now=now)
    with pytest.raises(BadAnswer, match="not trusted"):
        read_answer(_answer(200, good), key=key, identity=WEB, anchors=(make_anchor("x").certificate,), now=now)

    limited = _answer(429, {"error": "rate-limited", "message": "slow down"}, {"retry-after": "4"})
    with pytest.raises(Refused) as info:
        read_answer(limited, key=key, identity=WEB, anchors=anchors, now=now)
    assert (info.value.status, info.value.code, info.value.retry_after) == (429, "rate-limited", 4.0)
