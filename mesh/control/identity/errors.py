"""Everything `mesh.control.identity` raises.

    IdentityServiceError
    ├── Refusal                 a certify request is refused; carries its HTTP status and error code
    │   ├── BadRequest          400  malformed JSON, identity or CSR (not P-256, bad signature)
    │   ├── Unauthenticated     401  TokenReview rejected the token, or it is for another audience
    │   ├── Forbidden           403  the token's ServiceAccount is not the identity asked for
    │   ├── RateLimited         429  this ServiceAccount asked too often
    │   └── Unavailable         503  the API server is unreachable, or no usable issuer is loaded
    ├── ApiUnavailable          the Kubernetes API could not be reached or answered with an error
    ├── IssuerRejected          issuer files were refused; `reason` is a short metric label
    └── ConfigError             command line, kubeconfig or in-cluster credentials are unusable

Messages never include tokens, CSRs or key material.
"""

from __future__ import annotations


class IdentityServiceError(Exception):
    """Root of every error raised by the identity service."""


class Refusal(IdentityServiceError):
    """A certify request is refused.  `code` is the machine-readable reason sent to the client."""

    status: int = 400

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class BadRequest(Refusal):
    status = 400


class Unauthenticated(Refusal):
    status = 401


class Forbidden(Refusal):
    status = 403


class RateLimited(Refusal):
    status = 429

    def __init__(self, code: str, message: str, *, retry_after: float) -> None:
        super().__init__(code, message)
        self.retry_after = retry_after


class Unavailable(Refusal):
    status = 503


class ApiUnavailable(IdentityServiceError):
    """The Kubernetes API could not be reached, timed out, or answered with an error.

    A TokenReviewer raises it when it cannot give a verdict; certify then answers 503.
    """


class IssuerRejected(IdentityServiceError):
    """Issuer files were refused.  `reason` is one of a few fixed labels, safe for metrics."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


class ConfigError(IdentityServiceError):
    """The service cannot start: bad arguments, kubeconfig or in-cluster credentials."""
