"""Every exception the fleet manager raises on purpose.

Callers catch the narrowest class that means what they want to handle;
foreign exceptions (pygit2, OSError, yaml) are translated at the boundary
with ``raise ... from e`` so they never leak through a public API::

    FleetError
    ├── ConfigError                 the fleet repository cannot be used as configuration
    │   ├── InvalidConfig           one or more problems found; carries every one of them
    │   └── TreeReadError           a file of the fleet tree exists but cannot be read
    ├── SourceError                 the Git source cannot deliver a revision
    │   ├── RevisionNotFound        a branch or revision does not exist in the repository
    │   ├── FetchFailed             cloning or fetching from the remote failed
    │   └── WebhookSecretError      the webhook secret is missing, empty or unreadable
    ├── TrustError                  the fleet's PKI cannot do what was asked
    │   ├── KeystoreError           the anchor keystore is missing, misplaced or holds the wrong key
    │   └── AnchorExists            ``trust init`` would replace an anchor that is already in use
    └── GateTimeout                 (fleet.apply) a CRD never became Established in time

Messages name the file, field, URL or revision and the reason.  They never
include secrets: a URL's user information is removed before it is shown and
webhook secrets are never part of any message.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fleet.config import Problem


class FleetError(Exception):
    """Root of the fleet manager's exceptions."""


class ConfigError(FleetError):
    """The fleet repository cannot be used as configuration."""


class InvalidConfig(ConfigError):
    """The revision is refused as a whole; ``problems`` lists every reason found."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems: tuple[Problem, ...] = tuple(problems)
        count = len(self.problems)
        first = self.problems[0].format() if self.problems else "no details"
        more = f" (and {count - 1} more)" if count > 1 else ""
        super().__init__(f"invalid fleet configuration: {first}{more}")


class TreeReadError(ConfigError):
    """A file of the fleet tree exists but cannot be read (permissions, I/O, a corrupt object)."""


class SourceError(FleetError):
    """The Git source cannot deliver a revision."""


class RevisionNotFound(SourceError):
    """A branch or revision does not exist in the repository."""


class FetchFailed(SourceError):
    """Cloning or fetching from the remote failed; the last fetched revision is still usable."""


class WebhookSecretError(SourceError):
    """The webhook secret is missing, empty or unreadable."""


class TrustError(FleetError):
    """The fleet's PKI cannot do what was asked."""


class KeystoreError(TrustError):
    """The anchor keystore is missing, inside a repository, too open, or lacks the anchor's key."""


class AnchorExists(TrustError):
    """``trust init`` found an anchor in ``trust-anchors/`` already."""


class GateTimeout(FleetError):
    """A CRD never became Established in time while applying a revision."""
