"""Everything `mesh.policy` raises.

    PolicyError
    └── InvalidPolicyObject     a policy.meshfleet.io object (or a field the mesh reads from a
                                Service or HTTPRoute annotation) cannot be understood; the message
                                names the kind, namespace/name and field

The evaluator itself never raises: a connection or request always gets a decision.
"""

from __future__ import annotations


class PolicyError(Exception):
    """Root of every error raised by the policy model."""


class InvalidPolicyObject(PolicyError):
    """An object cannot be turned into policy; `where` names the object and field."""

    def __init__(self, where: str, reason: str) -> None:
        super().__init__(f"{where}: {reason}")
        self.where = where
        self.reason = reason
