"""Errors of the reconciler.

    ReconcileError
    └── RolloutStateError      the rollout state file (pause/resume) cannot be read or written

Kubernetes failures stay ``fleet.kube.errors`` (Unreachable, APIError, ...),
a missing anchor key ``fleet.errors.KeystoreError`` and configuration failures
``fleet.errors.InvalidConfig``: the reconciler
turns them into cluster states rather than wrapping them.  Messages never
contain key material.
"""

from __future__ import annotations


class ReconcileError(Exception):
    """Root of the reconciler's own errors."""


class RolloutStateError(ReconcileError):
    """The rollout state file cannot be read or written."""

