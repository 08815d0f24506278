"""The fleet repository side of a rotation: read the committed bundle and its history, commit a new one.

Rotation reads what is *committed* on the checked-out branch (what the
reconciler deploys), never the work tree, and commits only paths under
``trust-anchors/``.  The bundle of the newest earlier commit whose anchors
differ tells a finished "retire the old anchor" commit apart from a fleet
that was never rotated.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pygit2
from cryptography import x509

from fleet.config import FleetConfig, GitTree, TrustAnchor, check_fleet
from fleet.errors import ConfigError
from fleet.trust.errors import RepositoryBusy, RotationRefused
from fleet.trust.keystore import Keystore
from fleet.trust.rotation import Anchor, RepoState
from mesh.pki import fingerprint, parse_bundle
from mesh.pki.errors import PKIError

ANCHOR_DIR = "trust-anchors"
HISTORY_LIMIT = 500  # commits searched for the previous bundle; rotations are rare, fleets' histories long
_CERT_SUFFIXES = (".crt", ".pem", ".cert")


@dataclass(frozen=True, slots=True)
class Committed:
    """The branch head as rotation needs it: the fleet, its anchors, and rotation's view of both."""

    revision: str
    config: FleetConfig
    anchors: tuple[TrustAnchor, ...]
    state: RepoState

    def anchor(self, fp: str) -> TrustAnchor:
        return next(a for a in self.anchors if fingerprint(a.certificate) == fp)


def _open(repo_dir: Path) -> pygit2.Repository:
    try:
        repo = pygit2.Repository(os.fspath(repo_dir))
    except pygit2.GitError as e:
        raise RotationRefused(f"{repo_dir}: not a Git repository ({e})") from e
    if repo.is_bare or repo.workdir is None:
        raise RotationRefused(f"{repo_dir}: a bare repository; rotation commits through a work tree")
    if repo.head_is_unborn or repo.head_is_detached:
        raise RepositoryBusy(f"{repo_dir}: HEAD is {'unborn' if repo.head_is_unborn else 'detached'}; "
                             "check out the fleet's branch")
    return repo


def _fingerprints(repo: pygit2.Repository, commit: pygit2.Commit) -> frozenset[str]:
    tree = GitTree(repo, commit)
    found: set[str] = set()
    for name in tree.list(ANCHOR_DIR):
        if not name.endswith(_CERT_SUFFIXES):
            continue
        try:
            found.update(fingerprint(c) for c in parse_bundle(tree.read(f"{ANCHOR_DIR}/{name}") or b""))
        except PKIError:
            continue  # an old, broken revision says nothing about the previous bundle
    return frozenset(found)


def _previous_bundle(repo: pygit2.Repository, head: pygit2.Commit, current: frozenset[str]) -> frozenset[str]:
    commit = head
    for _ in range(HISTORY_LIMIT):
        if not commit.parents:
            return frozenset()
        commit = commit.parents[0]
        fps = _fingerprints(repo, commit)
        if fps and fps != current:
            return fps
    return frozenset()


def read_committed(repo_dir: Path, keystore: Keystore, now: datetime) -> Committed:
    """The head of the checked-out branch; RotationRefused naming file and reason if it is not a valid fleet."""
    repo = _open(repo_dir)
    head = repo.head.peel(pygit2.Commit)
    try:
        config, problems = check_fleet(GitTree(repo, head), now=now)
    except ConfigError as e:
        raise RotationRefused(f"{repo_dir}: {e}") from e
    if config is None:
        raise RotationRefused(f"{repo_dir} at {str(head.id)[:12]}: {problems[0].format()}")
    anchors = config.trust_anchors
    current = frozenset(fingerprint(a.certificate) for a in anchors)
    previous = _previous_bundle(repo, head, current)
    kept = tuple(sorted(fp for fp in previous if keystore.key_file_for(fp).exists()))
    view = tuple(Anchor(a.file, fingerprint(a.certificate), a.certificate.not_valid_before_utc,
                        keystore.has_key(a.certificate)) for a in anchors)
    return Committed(str(head.id), config, anchors, RepoState(view, tuple(sorted(previous)), kept))


def check_clean(repo_dir: Path) -> None:
    """RepositoryBusy unless a rotation commit can be made without sweeping up someone's changes."""
    _check_clean(_open(repo_dir), repo_dir)


def _check_clean(repo: pygit2.Repository, repo_dir: Path) -> None:
    busy = sorted(path for path, flags in repo.status().items()
                  if path.startswith(f"{ANCHOR_DIR}/") and flags not in (pygit2.enums.FileStatus.CURRENT,
                                                                          pygit2.enums.FileStatus.IGNORED))
    staged = sorted(path for path, flags in repo.status().items()
                    if flags & (pygit2.enums.FileStatus.INDEX_NEW | pygit2.enums.FileStatus.INDEX_MODIFIED
                                | pygit2.enums.FileStatus.INDEX_DELETED | pygit2.enums.FileStatus.INDEX_RENAMED))
    if busy or staged:
        raise RepositoryBusy(f"{repo_dir}: uncommitted changes would mix with the rotation commit: "
                             f"{', '.join(sorted(set(busy + staged)))}; commit or discard them first")


def commit_anchors(repo_dir: Path, *, add: dict[str, bytes], remove: tuple[str, ...], message: str) -> str:
    """Write ``add`` (path -> PEM), delete ``remove``, commit just those paths on the branch; the new SHA."""
    repo = _open(repo_dir)
    _check_clean(repo, repo_dir)
    root = Path(repo.workdir)
    for path, data in add.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_bytes(data)
        repo.index.add(path)
    for path in remove:
        (root / path).unlink(missing_ok=True)
        repo.index.remove(path)
    repo.index.write()
    tree = repo.index.write_tree()
    try:
        sig = repo.default_signature
    except (KeyError, pygit2.GitError):
        sig = pygit2.Signature("meshfleet", "meshfleet@localhost")
    oid = repo.create_commit("HEAD", sig, sig, message, tree, [repo.head.target])
    _run_post_commit_hook(root)
    return str(oid)


def _run_post_commit_hook(root: Path) -> None:
    """Tell whoever listens (``meshfleet up`` installs a hook that pings the watcher) without waiting on it."""
    hook = root / ".git" / "hooks" / "post-commit"
    if hook.is_file() and os.access(hook, os.X_OK):
        try:
            subprocess.run([str(hook)], cwd=root, timeout=10, check=False, capture_output=True)
        except (OSError, subprocess.TimeoutExpired):
            pass  # the watcher's poll picks the commit up anyway


def anchor_file_name(cert: x509.Certificate, now: datetime) -> str:
    return f"{ANCHOR_DIR}/anchor-{now:%Y%m%d}-{fingerprint(cert)[:8]}.pem"
