"""Errors of the reconciler.

    ReconcileError
    ├── KeystoreError          the anchor key cannot be found or read; issuers cannot be made
    └── RolloutStateError      the rollout state file (pause/resume) cannot be read or written

Kubernetes failures stay ``fleet.kube.errors`` (Unreachable, APIError, ...)
and configuration failures ``fleet.errors.InvalidConfig``: the reconciler
turns them into cluster states rather than wrapping them.  Messages never
contain key material.
"""

from __future__ import annotations


class ReconcileError(Exception):
    """Root of the reconciler's own errors."""


class KeystoreError(ReconcileError):
    """No usable anchor key: the keystore is unset, missing, unreadable, or holds no key of a current anchor."""


class RolloutStateError(ReconcileError):
    """The rollout state file cannot be read or written."""

