"""The trust package raises the fleet's own trust errors (see ``fleet.errors``)."""

from fleet.errors import AnchorExists, KeystoreError, TrustError

__all__ = ["AnchorExists", "KeystoreError", "TrustError"]
