"""Errors of the fleet's Kubernetes client.

    KubeError
    ├── KubeconfigError     the kubeconfig or its context is missing or unusable
    ├── Unreachable         no answer from the API server (refused, timed out, TLS failure)
    └── APIError            the API server answered with a failure status
        ├── NotFound        404
        ├── Conflict        409 (a field owned by another manager, or a stale resourceVersion)
        ├── Invalid         422 (the object failed validation)
        └── Forbidden       401 or 403
"""

from __future__ import annotations


class KubeError(Exception):
    """Base of every error raised by ``fleet.kube``."""


class KubeconfigError(KubeError):
    pass


class Unreachable(KubeError):
    def __init__(self, server: str, reason: str) -> None:
        self.server = server
        self.reason = reason
        super().__init__(f"{server}: unreachable: {reason}")


class APIError(KubeError):
    def __init__(self, status: int, reason: str, message: str, what: str) -> None:
        self.status = status
        self.reason = reason
        self.message = message
        self.what = what
        super().__init__(f"{what}: {status} {reason}: {message}")


class NotFound(APIError):
    pass


class Conflict(APIError):
    pass


class Invalid(APIError):
    pass


class Forbidden(APIError):
    pass


def for_status(status: int) -> type[APIError]:
    return {404: NotFound, 409: Conflict, 422: Invalid, 401: Forbidden, 403: Forbidden}.get(status, APIError)
