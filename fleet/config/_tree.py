"""Where fleet files come from: a directory on disk or a commit of a Git repository.

The loader only needs to read a file and list a directory, so both sources
hide behind :class:`FileTree`; that is what lets ``meshfleet validate REV``
check a revision straight from the object database, without a checkout.
Paths are POSIX and relative to the fleet root (``clusters/east.yaml``).
"""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath
from typing import Any, Protocol

import pygit2

from fleet.errors import RevisionNotFound, TreeReadError


class FileTree(Protocol):
    """Read-only view of a fleet repository at one revision."""

    def read(self, path: str) -> bytes | None:
        """The contents of a file, or None when there is no such file."""
        ...

    def list(self, directory: str) -> list[str]:
        """Names of the regular files directly inside ``directory``, sorted; empty when it does not exist."""
        ...


def _parts(path: str) -> tuple[str, ...]:
    parts = PurePosixPath(path).parts
    # Paths come from our own loader, but a tree must never be a way out of its root.
    if any(part in ("..", "/") for part in parts):
        raise ValueError(f"{path!r} is not a path inside the fleet tree")
    return tuple(part for part in parts if part != ".")


class DirectoryTree:
    """A fleet repository checked out (or simply written) in a directory."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    def __repr__(self) -> str:
        return f"DirectoryTree({str(self.root)!r})"

    def read(self, path: str) -> bytes | None:
        target = self.root.joinpath(*_parts(path))
        try:
            # Symbolic links are skipped, as in GitTree: they could point outside the fleet.
            return target.read_bytes() if target.is_file() and not target.is_symlink() else None
        except OSError as e:
            raise TreeReadError(f"{path}: cannot be read: {e.strerror or e}") from e

    def list(self, directory: str) -> list[str]:
        target = self.root.joinpath(*_parts(directory))
        try:
            if not target.is_dir():
                return []
            return sorted(entry.name for entry in target.iterdir() if entry.is_file() and not entry.is_symlink())
        except OSError as e:
            raise TreeReadError(f"{directory}/: cannot be listed: {e.strerror or e}") from e


class GitTree:
    """The tree of one commit in a Git repository, read from the object database."""

    def __init__(self, repository: pygit2.Repository, commit: Any) -> None:
        self._repository = repository
        self._tree = commit.tree
        self.revision: str = str(commit.id)

    def __repr__(self) -> str:
        return f"GitTree({self._repository.path!r}, {self.revision[:12]})"

    @classmethod
    def at(cls, repository: str | os.PathLike[str] | pygit2.Repository, revision: str) -> GitTree:
        """The tree of ``revision`` (a SHA, branch, tag or any ``git rev-parse`` expression)."""
        if isinstance(repository, pygit2.Repository):
            repo = repository
        else:
            try:
                repo = pygit2.Repository(os.fspath(repository))
            except pygit2.GitError as e:
                raise RevisionNotFound(f"{os.fspath(repository)}: not a Git repository") from e
        try:
            commit = repo.revparse_single(revision).peel(pygit2.Commit)
        except (KeyError, ValueError, pygit2.GitError, pygit2.InvalidSpecError) as e:
            raise RevisionNotFound(f"{revision!r} is not a commit of the repository at {repo.path}") from e
        return cls(repo, commit)

    def _entry(self, path: str) -> Any:
        parts = _parts(path)
        if not parts:
            return self._tree
        try:
            return self._tree[str(PurePosixPath(*parts))]
        except KeyError:
            return None

    def read(self, path: str) -> bytes | None:
        entry = self._entry(path)
        # Symbolic links and submodules are not files of the fleet.
        if not isinstance(entry, pygit2.Blob) or entry.filemode == pygit2.enums.FileMode.LINK:
            return None
        try:
            data: bytes = entry.data
        except pygit2.GitError as e:
            raise TreeReadError(f"{path}: cannot be read from {self.revision[:12]}: {e}") from e
        return data

    def list(self, directory: str) -> list[str]:
        entry = self._entry(directory)
        if not isinstance(entry, pygit2.Tree):
            return []
        return sorted(
            item.name
            for item in entry
            if isinstance(item, pygit2.Blob) and item.filemode != pygit2.enums.FileMode.LINK and item.name
        )
