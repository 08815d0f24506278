"""Everything `mesh.control.injector` raises.

    InjectorError
    ├── ConfigError        the proxy configuration file, TLS directory or command line is unusable
    └── MalformedReview    a request body is not an AdmissionReview we can act on (answered: allowed, unchanged)

No error ever turns into an HTTP 500 for the API server: a review we cannot
handle is allowed unchanged with a warning, so pod creation is never blocked
by the injector itself.
"""

from __future__ import annotations


class InjectorError(Exception):
    """Root of every error raised by the injector."""


class ConfigError(InjectorError):
    """The injector cannot start as configured."""


class MalformedReview(InjectorError):
    """The body is not an AdmissionReview for a pod; `uid` is kept when it could be read."""

    def __init__(self, reason: str, uid: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.uid = uid
