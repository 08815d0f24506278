"""Token validation behind a small protocol, plus a cache of positive answers.

The certify handler only needs "who is this token, and is it for us?".  The
production answer comes from a TokenReview against the cluster's API server
(`KubernetesTokenReviewer`); tests plug in a plain class with the same method.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from ._jwt import unverified_claims


@dataclass(frozen=True, slots=True)
class TokenReview:
    """The API server's verdict on a token."""

    authenticated: bool
    username: str = ""
    audiences: tuple[str, ...] = ()
    error: str = ""


class TokenReviewer(Protocol):
    async def review(self, token: str, audiences: tuple[str, ...]) -> TokenReview:
        """Review `token` for `audiences`; raise ApiUnavailable if no verdict can be had."""
        ...


@dataclass(frozen=True, slots=True)
class _Cached:
    review: TokenReview
    until: float


class CachingTokenReviewer:
    """Remembers positive reviews for min(token's remaining life, `max_ttl`).

    Negative answers and failures are never cached: a token that was just
    refused may be valid a moment later (clock skew, API server restart).
    Concurrent reviews of the same token share one API call.  Keys are
    SHA-256 digests, so the cache holds no token.
    """

    def __init__(
        self,
        inner: TokenReviewer,
        *,
        max_ttl: float = 10.0,
        max_entries: int = 10_000,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._inner = inner
        self._max_ttl = max_ttl
        self._max_entries = max_entries
        self._clock = clock
        self._cache: dict[tuple[bytes, tuple[str, ...]], _Cached] = {}
        self._in_flight: dict[tuple[bytes, tuple[str, ...]], asyncio.Future[TokenReview]] = {}

    async def review(self, token: str, audiences: tuple[str, ...]) -> TokenReview:
        key = (hashlib.sha256(token.encode()).digest(), audiences)
        now = self._clock()
        hit = self._cache.get(key)
        if hit is not None:
            if now < hit.until:
                return hit.review
            del self._cache[key]
        pending = self._in_flight.get(key)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[TokenReview] = asyncio.get_running_loop().create_future()
        self._in_flight[key] = future
        try:
            result = await self._inner.review(token, audiences)
        except asyncio.CancelledError:
            future.cancel()
            raise
        except Exception as e:
            future.set_exception(e)
            # Mark it retrieved: with no concurrent waiter, asyncio would log it as never retrieved.
            future.exception()
            raise
        else:
            future.set_result(result)
            self._remember(key, token, result, now)
            return result
        finally:
            del self._in_flight[key]

    def _remember(self, key: tuple[bytes, tuple[str, ...]], token: str, result: TokenReview, now: float) -> None:
        if not result.authenticated:
            return
        claims = unverified_claims(token)
        if claims is None or claims.expires_at is None:
            return
        until = min(claims.expires_at, now + self._max_ttl)
        if until <= now:
            return
        if len(self._cache) >= self._max_entries:
            for k in [k for k, v in self._cache.items() if v.until <= now] or [next(iter(self._cache))]:
                del self._cache[k]
        self._cache[key] = _Cached(review=result, until=until)

    def __len__(self) -> int:
        return len(self._cache)
