"""Fetching a branch of a real Git repository into the cache."""

from __future__ import annotations

from pathlib import Path

import pygit2
import pytest
from source_repos import Upstream

from fleet.errors import FetchFailed, RevisionNotFound
from fleet.source import GitSource, cache_dir, redact


def test_first_sync_clones_and_later_syncs_see_new_commits(upstream: Upstream, cache: Path) -> None:
    first = upstream.commit({"fleet.yaml": "v: 1\n", "clusters/east.yaml": "name: east\n"})
    source = GitSource(str(upstream.path), "main", cache=cache)
    assert source.cached() is None

    snapshot = source.sync()
    assert snapshot.revision == first
    assert snapshot.tree.read("fleet.yaml") == b"v: 1\n"
    assert snapshot.tree.list("clusters") == ["east.yaml"]
    assert (cache / "HEAD").exists()

    second = upstream.commit({"fleet.yaml": "v: 2\n"})
    assert source.sync().revision == second
    # The earlier snapshot still reads its own revision.
    assert snapshot.tree.read("fleet.yaml") == b"v: 1\n"
    cached = source.cached()
    assert cached is not None
    assert cached.revision == second


def test_only_the_configured_branch_is_followed(upstream: Upstream, cache: Path) -> None:
    main = upstream.commit({"fleet.yaml": "main\n"})
    upstream.repo.branches.local.create("staging", upstream.repo.revparse_single(main).peel(pygit2.Commit))
    source = GitSource(str(upstream.path), "staging", cache=cache)
    assert source.sync().revision == main
    upstream.commit({"fleet.yaml": "main moves on\n"})  # HEAD is main
    assert source.sync().revision == main


def test_a_missing_branch(upstream: Upstream, cache: Path) -> None:
    upstream.commit({"fleet.yaml": "x\n"})
    with pytest.raises(RevisionNotFound, match=r"branch 'release' not found in /"):
        GitSource(str(upstream.path), "release", cache=cache).sync()


def test_an_unreachable_repository(tmp_path: Path, cache: Path) -> None:
    with pytest.raises(FetchFailed, match=r"fetching 'main' from .*nowhere failed"):
        GitSource(str(tmp_path / "nowhere"), cache=cache).sync()


def test_the_default_cache_follows_xdg(upstream: Upstream, tmp_path: Path) -> None:
    environ = {"XDG_CACHE_HOME": str(tmp_path / "xdg"), "HOME": str(tmp_path / "home")}
    source = GitSource(str(upstream.path), environ=environ)
    assert source.cache.parent == tmp_path / "xdg" / "meshfleet" / "git"
    assert source.cache.name.startswith("upstream-")
    assert GitSource(str(upstream.path), environ={"HOME": str(tmp_path / "home")}).cache.parent == (
        tmp_path / "home" / ".cache" / "meshfleet" / "git"
    )
    # Different locations never share a cache directory, even with the same last path component.
    assert cache_dir("https://a.example/fleet.git", environ) != cache_dir("https://b.example/fleet.git", environ)


def test_credentials_in_a_url_are_never_shown(cache: Path) -> None:
    url = "https://deploy:ghp_TOPSECRET@127.0.0.1:9/fleet.git"
    assert redact(url) == "https://127.0.0.1:9/fleet.git"
    source = GitSource(url, cache=cache)
    assert "TOPSECRET" not in repr(source)
    with pytest.raises(FetchFailed) as raised:
        source.sync()
    assert "TOPSECRET" not in str(raised.value)
    assert "https://127.0.0.1:9/fleet.git" in str(raised.value)
