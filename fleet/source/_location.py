"""Names derived from a repository location: its cache directory and a printable form.  Pure."""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

_SCP_LIKE = re.compile(r"^[^/@:]+@[^/:]+:")  # git@host:owner/repo.git


def redact(url: str) -> str:
    """``url`` without user information, so a token embedded in it is never printed."""
    parts = urlsplit(url)
    if parts.scheme and "@" in parts.netloc:
        host = parts.netloc.rsplit("@", 1)[1]
        return urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))
    return url


def is_remote(location: str) -> bool:
    return bool(urlsplit(location).scheme and "://" in location) or bool(_SCP_LIKE.match(location))


def normalize(location: str, cwd: str | os.PathLike[str] | None = None) -> str:
    """A remote URL unchanged; a local path made absolute so the cache key does not depend on the cwd."""
    if is_remote(location):
        return location
    return str(Path(cwd or os.getcwd(), location).resolve())


def cache_root(environ: Mapping[str, str]) -> Path:
    """``$XDG_CACHE_HOME/meshfleet/git``, falling back to ``~/.cache`` as the XDG spec says."""
    base = environ.get("XDG_CACHE_HOME") or ""
    root = Path(base) if base and Path(base).is_absolute() else Path(environ.get("HOME", "~"), ".cache")
    return root.expanduser() / "meshfleet" / "git"


def cache_dir(location: str, environ: Mapping[str, str]) -> Path:
    """One directory per repository location: a readable name plus a hash that keeps locations apart."""
    tail = re.sub(r"[^A-Za-z0-9._-]+", "-", location.rstrip("/").rsplit("/", 1)[-1].removesuffix(".git"))
    digest = hashlib.sha256(location.encode("utf-8")).hexdigest()[:16]
    return cache_root(environ) / f"{tail or 'repo'}-{digest}"
