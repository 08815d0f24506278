"""Fetch one branch of the fleet repository into a local cache and expose its newest commit.

The cache is a bare repository per location; every sync fetches just the
configured branch with an explicit refspec, so a first clone and a later
update are the same operation.  Fetching is blocking libgit2 work, so the
async entry point runs it in a thread, one sync at a time: the poller and
a webhook never fetch concurrently into the same cache.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pygit2

from fleet.config import GitTree
from fleet.errors import FetchFailed, RevisionNotFound
from fleet.source._location import cache_dir, normalize, redact

DEFAULT_BRANCH = "main"
_REMOTE = "origin"


@dataclass(frozen=True, slots=True)
class Snapshot:
    """One fetched revision: the commit SHA and its files."""

    revision: str
    tree: GitTree


class GitSource:
    """A branch of a Git repository (URL or local path), mirrored into a cache directory."""

    def __init__(
        self,
        location: str,
        branch: str = DEFAULT_BRANCH,
        *,
        cache: str | os.PathLike[str] | None = None,
        callbacks: pygit2.RemoteCallbacks | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.location = normalize(location)
        self.branch = branch
        self.cache = Path(cache) if cache is not None else cache_dir(self.location, environ or os.environ)
        self._callbacks = callbacks
        self._lock = threading.Lock()
        self._async_lock: asyncio.Lock | None = None

    def __repr__(self) -> str:
        return f"GitSource({redact(self.location)!r}, branch={self.branch!r})"

    @property
    def _ref(self) -> str:
        return f"refs/remotes/{_REMOTE}/{self.branch}"

    def _open(self) -> pygit2.Repository:
        try:
            if (self.cache / "HEAD").exists():
                repo = pygit2.Repository(str(self.cache))
            else:
                self.cache.parent.mkdir(parents=True, exist_ok=True)
                repo = pygit2.init_repository(str(self.cache), bare=True)
            if _REMOTE not in repo.remotes.names():
                repo.remotes.create(_REMOTE, self.location)
            elif repo.remotes[_REMOTE].url != self.location:
                repo.remotes.set_url(_REMOTE, self.location)
        except (OSError, pygit2.GitError) as e:
            raise FetchFailed(f"cannot prepare the cache {self.cache} for {redact(self.location)}: {e}") from e
        return repo

    def _snapshot(self, repo: pygit2.Repository) -> Snapshot:
        reference: Any = repo.references.get(self._ref)
        if reference is None:
            raise RevisionNotFound(f"branch {self.branch!r} not found in {redact(self.location)}")
        commit = repo[reference.target].peel(pygit2.Commit)
        return Snapshot(str(commit.id), GitTree(repo, commit))

    def sync(self) -> Snapshot:
        """Fetch the branch (blocking) and return its newest commit."""
        with self._lock:
            repo = self._open()
            refspec = f"+refs/heads/{self.branch}:{self._ref}"
            try:
                repo.remotes[_REMOTE].fetch([refspec], callbacks=self._callbacks)
            except pygit2.GitError as e:
                # libgit2 may quote the URL, token included; only the redacted form may be shown.
                detail = str(e).replace(self.location, redact(self.location))
                raise FetchFailed(f"fetching {self.branch!r} from {redact(self.location)} failed: {detail}") from e
            return self._snapshot(repo)

    def cached(self) -> Snapshot | None:
        """The newest commit already in the cache, without touching the network; None before a first sync."""
        if not (self.cache / "HEAD").exists():
            return None
        with self._lock:
            try:
                return self._snapshot(self._open())
            except RevisionNotFound:
                return None

    async def sync_async(self) -> Snapshot:
        """``sync`` in a worker thread; concurrent callers wait for each other rather than racing."""
        if self._async_lock is None:
            self._async_lock = asyncio.Lock()
        async with self._async_lock:
            return await asyncio.to_thread(self.sync)
