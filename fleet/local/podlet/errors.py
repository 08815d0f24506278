"""Errors of the podlet, the local fleet's node agent.

    PodletError
    ├── NotRootError            the podlet needs root for network and mount namespaces
    ├── NetworkError            a bridge, namespace, veth, address or iptables change failed
    │   └── NetworkTakenError   another live podlet on this machine owns the same pod network
    ├── ApiError                the apiserver refused a request or could not be reached
    │   ├── NotFound            404: the object does not exist (any more)
    │   ├── Conflict            409: a stale resourceVersion or an object that already exists
    │   └── Gone                410: a watch's resourceVersion is too old; list again
    └── PodSpecError            a pod asks for something the podlet cannot give it
        ├── UnsupportedVolume   a volume type the podlet does not materialize (names the volume)
        ├── MissingReference    a Secret, ConfigMap or key that env or a volume needs is absent
        └── UnsupportedField    an env source or field path the podlet does not resolve

``PodSpecError`` never stops the podlet: the container waits with the error
as its reason and message, as a real node would report it.
"""

from __future__ import annotations


class PodletError(Exception):
    """Root of the podlet's own errors."""


class NotRootError(PodletError):
    pass


class NetworkError(PodletError):
    pass


class NetworkTakenError(NetworkError):
    pass


class ApiError(PodletError):
    def __init__(self, status: int, message: str) -> None:
        self.status = status
        super().__init__(f"apiserver answered {status}: {message}" if status else message)


class NotFound(ApiError):
    pass


class Conflict(ApiError):
    pass


class Gone(ApiError):
    pass


class PodSpecError(PodletError):
    """Carries the waiting ``reason`` a container shows for it."""

    reason = "CreateContainerConfigError"


class UnsupportedVolume(PodSpecError):
    reason = "UnsupportedVolume"


class MissingReference(PodSpecError):
    reason = "CreateContainerConfigError"


class UnsupportedField(PodSpecError):
    reason = "CreateContainerConfigError"
