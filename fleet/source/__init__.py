"""Where fleet revisions come from: a Git branch, fetched on a poll or when a signed webhook says so.

``GitSource(location, branch).sync()`` returns a :class:`Snapshot` (commit
SHA and a :class:`fleet.config.GitTree`); :class:`SourceWatcher` polls it
and delivers new revisions; :func:`create_webhook_app` verifies pushes from
GitHub, GitLab or any sender using the generic HMAC header and triggers the
watcher.  Signature checking (:func:`verify`) is pure.
"""

from fleet.source._git import DEFAULT_BRANCH, GitSource, Snapshot
from fleet.source._location import cache_dir, cache_root, redact
from fleet.source._secret import load_webhook_secret
from fleet.source._signatures import (
    GENERIC_HEADER,
    GITHUB_HEADER,
    GITLAB_HEADER,
    Provider,
    Verdict,
    WebhookSecret,
    sign,
    verify,
)
from fleet.source._watch import DEFAULT_POLL_INTERVAL, SourceWatcher
from fleet.source._webhook import DEFAULT_WEBHOOK_PATH, WebhookServer, create_webhook_app

__all__ = [
    "DEFAULT_BRANCH",
    "DEFAULT_POLL_INTERVAL",
    "DEFAULT_WEBHOOK_PATH",
    "GENERIC_HEADER",
    "GITHUB_HEADER",
    "GITLAB_HEADER",
    "GitSource",
    "Provider",
    "Snapshot",
    "SourceWatcher",
    "Verdict",
    "WebhookSecret",
    "WebhookServer",
    "cache_dir",
    "cache_root",
    "create_webhook_app",
    "load_webhook_secret",
    "redact",
    "sign",
    "verify",
]
