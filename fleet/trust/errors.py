"""The trust package's errors: the fleet's own trust errors (``fleet.errors``) plus rotation's::

    TrustError (fleet.errors)
    ├── KeystoreError           the anchor keystore is missing, misplaced or holds the wrong key
    ├── AnchorExists            ``trust init`` would replace an anchor that is already in use
    └── RotationError           ``trust rotate`` cannot go on
        ├── RotationRefused     the repository is in a state rotation does not understand (names file and field)
        ├── RepositoryBusy      the work tree has uncommitted changes under trust-anchors/, or no branch
        └── RotationTimeout     the fleet did not converge in time; names the clusters (or pods) that lag

Messages never carry key material: keys are named by their anchor's fingerprint only.
"""

from fleet.errors import AnchorExists, KeystoreError, TrustError


class RotationError(TrustError):
    """``meshfleet trust rotate`` cannot go on."""


class RotationRefused(RotationError):
    """The repository or keystore is in a state rotation does not understand."""


class RepositoryBusy(RotationError):
    """The fleet repository cannot take a rotation commit right now."""


class RotationTimeout(RotationError):
    """A wait for the fleet ran out; the message names every cluster or pod that lags and why."""

    def __init__(self, what: str, seconds: float, lagging: str) -> None:
        self.what = what
        super().__init__(f"timed out after {seconds:.0f}s waiting for {what}: {lagging}")


__all__ = ["AnchorExists", "KeystoreError", "RepositoryBusy", "RotationError", "RotationRefused",
           "RotationTimeout", "TrustError"]
