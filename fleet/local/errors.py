"""Errors of the local fleet.

    LocalFleetError
    ├── ToolchainError        the Go toolchain is missing or a build failed
    ├── ComponentStartError   a component exited or never became ready during start-up
    ├── FleetStateError       the recorded state is missing or unreadable
    └── UnknownClusterError   a cluster name that the local fleet does not have
"""

from __future__ import annotations


class LocalFleetError(Exception):
    """Base of every error raised by ``fleet.local``."""


class ToolchainError(LocalFleetError):
    pass


class ComponentStartError(LocalFleetError):
    def __init__(self, cluster: str, component: str, reason: str, log_tail: str) -> None:
        self.cluster = cluster
        self.component = component
        self.reason = reason
        self.log_tail = log_tail
        super().__init__(
            f"cluster {cluster}: {component} {reason}; last lines of its log:\n{log_tail or '(log is empty)'}"
        )


class FleetStateError(LocalFleetError):
    pass


class UnknownClusterError(LocalFleetError):
    pass
