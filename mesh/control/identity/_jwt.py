"""Reading a JWT's claims without verifying it.

Only the Kubernetes API decides whether a token is genuine.  The unverified
claims serve two purposes that stay safe even if they lie: refusing early a
token that names another audience (the API server would refuse it too), and
bounding how long a positive TokenReview is cached (`exp`).  Only a token the
API server has just accepted is cached, and the cache has its own cap, so a
forged `exp` cannot stretch trust beyond that cap.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class UnverifiedClaims:
    expires_at: float | None
    audiences: tuple[str, ...] | None


def unverified_claims(token: str) -> UnverifiedClaims | None:
    """The `exp` and `aud` claims of a compact JWT, or None if it is not one."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    payload = parts[1]
    try:
        raw = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
        claims = json.loads(raw)
    except (binascii.Error, ValueError):
        return None
    if not isinstance(claims, dict):
        return None
    exp = claims.get("exp")
    expires_at = float(exp) if isinstance(exp, int | float) and not isinstance(exp, bool) else None
    aud = claims.get("aud")
    audiences: tuple[str, ...] | None
    if isinstance(aud, str):
        audiences = (aud,)
    elif isinstance(aud, list) and all(isinstance(a, str) for a in aud):
        audiences = tuple(aud)
    else:
        audiences = None
    return UnverifiedClaims(expires_at=expires_at, audiences=audiences)
