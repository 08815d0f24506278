"""Deciding a certify request: who is asking, may they have this name, and issuing the leaf.

Checks run cheapest-first and each maps to one refusal:

    body/identity/CSR malformed ........... 400
    token for another audience (claims) ... 401 wrong-audience   (no API call needed)
    API server unreachable ................ 503
    TokenReview says no ................... 401 token-rejected / wrong-audience
    token's ServiceAccount != identity .... 403
    ServiceAccount over its rate .......... 429
    no usable issuer ...................... 503
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from mesh.pki import (
    DEFAULT_LEAF_LIFETIME,
    CertificateAuthority,
    IdentityDomain,
    IssuedLeaf,
    WorkloadIdentity,
    issue_leaf,
    parse_csr,
)
from mesh.pki.errors import BadCSRSignature, CertificateExpired, IdentityNameError, MalformedCSR, UnsupportedKey

from ._contract import TOKEN_AUDIENCE, CertifyRequest
from ._jwt import unverified_claims
from ._ratelimit import TokenBuckets
from ._tokenreview import TokenReviewer
from .errors import ApiUnavailable, BadRequest, Forbidden, RateLimited, Unauthenticated, Unavailable

log = logging.getLogger(__name__)

_CSR_CODES = (
    (UnsupportedKey, "unsupported-key"),
    (BadCSRSignature, "bad-csr-signature"),
    (MalformedCSR, "malformed-csr"),
)


class Certifier:
    def __init__(
        self,
        *,
        domain: IdentityDomain,
        reviewer: TokenReviewer,
        issuer: Callable[[], CertificateAuthority | None],
        limiter: TokenBuckets,
        leaf_lifetime: timedelta = DEFAULT_LEAF_LIFETIME,
        audience: str = TOKEN_AUDIENCE,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._domain = domain
        self._reviewer = reviewer
        self._issuer = issuer
        self._limiter = limiter
        self._lifetime = leaf_lifetime
        self._audience = audience
        self._clock = clock
        self._monotonic = monotonic

    async def certify(self, request: CertifyRequest) -> IssuedLeaf:
        try:
            wanted = WorkloadIdentity.parse_dns(request.identity, self._domain)
        except IdentityNameError as e:
            raise BadRequest("malformed-identity", str(e)) from e
        try:
            csr = parse_csr(request.csr)
        except (UnsupportedKey, BadCSRSignature, MalformedCSR) as e:
            code = next(c for cls, c in _CSR_CODES if isinstance(e, cls))
            raise BadRequest(code, str(e)) from e

        claims = unverified_claims(request.token)
        if claims is not None and claims.audiences is not None and self._audience not in claims.audiences:
            raise Unauthenticated("wrong-audience", f"the token is not meant for audience {self._audience!r}")
        try:
            review = await self._reviewer.review(request.token, (self._audience,))
        except ApiUnavailable as e:
            raise Unavailable("api-unavailable", f"cannot review the token now: {e}") from e
        if not review.authenticated:
            # The API server explains audience mismatches in `error`; keep that distinction for the client.
            if "audience" in review.error.lower():
                raise Unauthenticated("wrong-audience", f"the token is not meant for audience {self._audience!r}")
            raise Unauthenticated("token-rejected", "the token was rejected by TokenReview")
        if self._audience not in review.audiences:
            raise Unauthenticated("wrong-audience", f"the token is not meant for audience {self._audience!r}")

        try:
            holder = WorkloadIdentity.from_username(review.username, self._domain)
        except IdentityNameError as e:
            raise Forbidden("identity-mismatch", f"the token does not belong to a ServiceAccount: {e}") from e
        if holder != wanted:
            raise Forbidden(
                "identity-mismatch",
                f"the token belongs to {holder.service_account_username}, which may not be {wanted.dns_name}",
            )

        wait = self._limiter.take(holder.service_account_username, self._monotonic())
        if wait > 0:
            raise RateLimited(
                "rate-limited",
                f"too many certificates for {holder.service_account_username}; retry in {wait:.1f}s",
                retry_after=wait,
            )

        ca = self._issuer()
        if ca is None:
            raise Unavailable("no-issuer", "no valid issuer is loaded yet")
        try:
            leaf = issue_leaf(ca, csr, wanted, now=self._clock(), lifetime=self._lifetime)
        except CertificateExpired as e:
            raise Unavailable("issuer-expired", str(e)) from e
        log.debug("issued %s until %s", wanted.dns_name, leaf.valid_until.isoformat())
        return leaf
