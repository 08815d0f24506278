"""Everything `mesh.control.mirror` raises.

    MirrorError
    ├── ConfigError     the command line or a kubeconfig is unusable: the mirror cannot start
    ├── InvalidLink     a Link's spec cannot be mirrored; names the Link and the field (`link`, `field`)
    └── ApiError        a cluster's API server refused a request or could not be reached (`cluster`, `status`)

The controller itself never stops on an ``InvalidLink`` or an ``ApiError``:
it logs them, leaves the mirrors as they are and tries again on the next
change, so a typo in a Link or a remote cluster that is down never
withdraws services that still work.
"""

from __future__ import annotations


class MirrorError(Exception):
    """Root of every error raised by the service mirror."""


class ConfigError(MirrorError):
    """The mirror cannot start as configured."""


class InvalidLink(MirrorError):
    """A Link whose spec the mirror cannot act on."""

    def __init__(self, link: str, field: str, reason: str) -> None:
        super().__init__(f"Link {link}: {field}: {reason}")
        self.link = link
        self.field = field
        self.reason = reason


class ApiError(MirrorError):
    """A request to one of the two clusters failed; ``status`` is the HTTP status when there was one."""

    def __init__(self, message: str, *, cluster: str, status: int | None = None) -> None:
        super().__init__(f"{cluster} cluster: {message}")
        self.cluster = cluster
        self.status = status
