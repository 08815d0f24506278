"""Everything `mesh.control.destination` raises.

    DestinationError
    ├── ConfigError           command line, kubeconfig, certificate or trust bundle unusable
    ├── ApiError              the Kubernetes API could not be reached or answered with an error (`status`)
    │   └── WatchExpired      the resourceVersion a watch resumed from is gone (410): list again
    └── BadTarget             a subscription names something that is not host:port

Client subscriptions never make the service raise: a bad one is answered with an
error message on the stream and the stream stays up.
"""

from __future__ import annotations


class DestinationError(Exception):
    """Root of every error raised by the destination service."""


class ConfigError(DestinationError):
    """The service cannot start as configured."""


class ApiError(DestinationError):
    """The Kubernetes API could not be reached, or answered with an error status."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class WatchExpired(ApiError):
    """The watch's resourceVersion is too old; the collection must be listed again."""


class BadTarget(DestinationError):
    """A subscription target that is not host:port."""
