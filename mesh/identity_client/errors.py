"""Everything `mesh.identity_client` raises.

    IdentityClientError
    ├── ConfigError            cannot start: trust bundle or key directory unusable
    └── CertifyError           one certify attempt failed; the client keeps its certificate and retries
        ├── TokenUnavailable   the projected ServiceAccount token file cannot be read
        ├── TransportError     no HTTPS exchange: connect, TLS verification, timeout, broken HTTP
        ├── Refused            the service answered with an error (`status`, `code`, `retry_after`)
        └── BadAnswer          the answer is not a usable certificate for our key and identity

Messages never include the token or key material.
"""

from __future__ import annotations


class IdentityClientError(Exception):
    """Root of every error raised by the identity client."""


class ConfigError(IdentityClientError):
    """The client cannot start: its trust bundle or key directory is unusable."""


class CertifyError(IdentityClientError):
    """One certify attempt failed.  Retryable: the current certificate, if any, stays in use."""

    retry_after: float | None = None


class TokenUnavailable(CertifyError):
    """The projected ServiceAccount token file is missing or unreadable."""


class TransportError(CertifyError):
    """No complete HTTPS exchange: connection refused, TLS verification failed, timed out, or bad HTTP."""


class Refused(CertifyError):
    """The identity service refused the request with an error status and code."""

    def __init__(self, status: int, code: str, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(f"identity service refused ({status} {code}): {message}")
        self.status = status
        self.code = code
        self.message = message
        self.retry_after = retry_after


class BadAnswer(CertifyError):
    """The service's answer is not a certificate we can use (wrong key, wrong identity, does not chain)."""
