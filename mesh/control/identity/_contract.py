"""The certify wire contract: request parsing and response shapes (pure).

POST /v1/certify  {"identity": <dns identity>, "csr": <PEM>, "token": <ServiceAccount JWT>}
200  {"certificate": <PEM leaf>, "chain": [<PEM issuer>, ...], "valid_until": <RFC 3339>}
4xx/5xx  {"error": <code>, "message": <why>}
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from mesh.pki import IssuedLeaf, certificate_to_pem

from .errors import BadRequest, Refusal

CERTIFY_PATH = "/v1/certify"
TOKEN_AUDIENCE = "identity.meshfleet.io"
MAX_REQUEST_BYTES = 64 * 1024


@dataclass(frozen=True, slots=True)
class CertifyRequest:
    identity: str
    csr: str = field(repr=False)
    token: str = field(repr=False)


def parse_certify_request(body: bytes) -> CertifyRequest:
    if len(body) > MAX_REQUEST_BYTES:
        raise BadRequest("malformed-request", f"the request body exceeds {MAX_REQUEST_BYTES} bytes")
    try:
        doc = json.loads(body)
    except (UnicodeDecodeError, ValueError) as e:
        raise BadRequest("malformed-request", "the request body is not JSON") from e
    if not isinstance(doc, dict):
        raise BadRequest("malformed-request", "the request body must be a JSON object")
    values: dict[str, str] = {}
    for name in ("identity", "csr", "token"):
        value = doc.get(name)
        if not isinstance(value, str) or not value:
            raise BadRequest("malformed-request", f"field {name!r} must be a non-empty string")
        values[name] = value
    return CertifyRequest(**values)


def success_body(leaf: IssuedLeaf) -> dict[str, Any]:
    return {
        "certificate": certificate_to_pem(leaf.certificate),
        "chain": [certificate_to_pem(c) for c in leaf.chain],
        "valid_until": leaf.valid_until.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def error_body(refusal: Refusal) -> dict[str, str]:
    return {"error": refusal.code, "message": refusal.message}
