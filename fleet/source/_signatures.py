"""Decide whether a webhook request really comes from the Git host.  Pure: headers, body, secret in.

Three schemes are accepted; the first header present decides which:

* GitHub ``X-Hub-Signature-256: sha256=<hex>``, an HMAC-SHA256 of the raw body;
* GitLab ``X-Gitlab-Token: <secret>``, the shared secret itself;
* generic ``X-Meshfleet-Signature: sha256=<hex>``, the same HMAC for any other sender.

Every comparison is constant-time, so response timing reveals nothing about
how much of a guess was right.  Reasons never include the secret or the
values that were sent.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum


class Provider(StrEnum):
    GITHUB = "github"
    GITLAB = "gitlab"
    GENERIC = "generic"


GITHUB_HEADER = "X-Hub-Signature-256"
GITLAB_HEADER = "X-Gitlab-Token"
GENERIC_HEADER = "X-Meshfleet-Signature"

_HEADERS = ((Provider.GITHUB, GITHUB_HEADER), (Provider.GITLAB, GITLAB_HEADER), (Provider.GENERIC, GENERIC_HEADER))
_PREFIX = "sha256="


@dataclass(frozen=True, slots=True)
class WebhookSecret:
    """The shared webhook secret; its repr never shows the value, so it cannot leak through logs."""

    value: bytes = field(repr=False)


@dataclass(frozen=True, slots=True)
class Verdict:
    accepted: bool
    provider: Provider | None
    reason: str


def sign(body: bytes, secret: WebhookSecret) -> str:
    """The ``sha256=<hex>`` value GitHub and generic senders put in their signature header."""
    return _PREFIX + hmac.new(secret.value, body, hashlib.sha256).hexdigest()


def _hmac_matches(value: str, body: bytes, secret: WebhookSecret) -> bool:
    try:
        given = value.strip().lower().encode("ascii")
    except UnicodeEncodeError:
        return False
    return hmac.compare_digest(given, sign(body, secret).encode("ascii"))


def verify(headers: Mapping[str, str], body: bytes, secret: WebhookSecret) -> Verdict:
    """Accept the request only when a known signature header is present and matches ``body``."""
    if not secret.value:
        return Verdict(False, None, "no webhook secret is configured")
    present = {name.lower(): value for name, value in headers.items()}
    for provider, header in _HEADERS:
        value = present.get(header.lower())
        if value is None:
            continue
        if provider is Provider.GITLAB:
            matches = hmac.compare_digest(value.encode("utf-8", "surrogateescape"), secret.value)
        else:
            matches = value.strip().lower().startswith(_PREFIX) and _hmac_matches(value, body, secret)
        if matches:
            return Verdict(True, provider, f"{header} verified")
        return Verdict(False, provider, f"{header} does not match")
    expected = ", ".join(header for _, header in _HEADERS)
    return Verdict(False, None, f"no signature header (expected one of: {expected})")
