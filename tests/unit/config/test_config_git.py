"""Loading and validating a fleet straight from a commit of a real Git repository."""

from __future__ import annotations

import shutil
from pathlib import Path

import pygit2
import pytest
from config_files import NOW

from fleet.config import GitTree, load_fleet, validate_main
from fleet.errors import InvalidConfig, RevisionNotFound

SIGNATURE = pygit2.Signature("Fleet Owner", "owner@example.com")


def commit_all(repo: pygit2.Repository, message: str) -> str:
    repo.index.add_all()
    repo.index.write()
    tree = repo.index.write_tree()
    parents = [] if repo.head_is_unborn else [repo.head.target]
    return str(repo.create_commit("HEAD", SIGNATURE, SIGNATURE, message, tree, parents))


@pytest.fixture
def fleet_repo(example_fleet: Path, tmp_path: Path) -> tuple[Path, str, str]:
    """A Git repository with the example fleet committed, then a commit that breaks east's network."""
    root = tmp_path / "repo"
    shutil.copytree(example_fleet, root)
    repo = pygit2.init_repository(str(root), initial_head="main")
    good = commit_all(repo, "Example fleet")
    east = root / "clusters" / "east.yaml"
    east.write_text(east.read_text().replace("10.100.0.0/16", "10.100.0.0/40"))
    bad = commit_all(repo, "Break east")
    return root, good, bad


def test_load_from_a_revision_ignores_the_working_tree(fleet_repo: tuple[Path, str, str]) -> None:
    root, good, bad = fleet_repo
    (root / "fleet.yaml").write_text("not: [valid")  # uncommitted: must not matter

    tree = GitTree.at(root, good)
    assert tree.revision == good
    config = load_fleet(tree, now=NOW)
    assert config.cluster_names == ("east", "north", "west")
    assert str(config.cluster("east").network.pod_cidr) == "10.100.0.0/16"

    with pytest.raises(InvalidConfig) as raised:
        load_fleet(GitTree.at(root, "main"), now=NOW)
    assert [p.format() for p in raised.value.problems] == [
        "clusters/east.yaml:10:14: spec.network.podCIDR: '10.100.0.0/40' is not a valid CIDR",
    ]
    assert GitTree.at(root, "main~1").revision == good


def test_git_tree_lists_only_files(fleet_repo: tuple[Path, str, str]) -> None:
    root, good, _ = fleet_repo
    tree = GitTree.at(root, good)
    assert tree.list("clusters") == ["README.md", "east.yaml", "north.yaml", "west.yaml"]
    assert tree.list("") == ["fleet.yaml"]
    assert tree.list("missing") == []
    assert tree.read("clusters") is None
    assert tree.read("clusters/east.yaml") == (root / "clusters" / "east.yaml").read_bytes().replace(
        b"10.100.0.0/40", b"10.100.0.0/16"
    )


def test_unknown_revision(fleet_repo: tuple[Path, str, str]) -> None:
    root, _, _ = fleet_repo
    with pytest.raises(RevisionNotFound, match="'nope' is not a commit"):
        GitTree.at(root, "nope")


def test_validate_a_revision_from_inside_the_repository(
    fleet_repo: tuple[Path, str, str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    root, good, bad = fleet_repo
    monkeypatch.chdir(root / "clusters")
    assert validate_main([good]) == 0
    assert f"at revision {good[:12]} is valid: 3 clusters" in capsys.readouterr().out

    assert validate_main(["HEAD"]) == 2
    captured = capsys.readouterr()
    assert captured.out == "clusters/east.yaml:10:14: spec.network.podCIDR: '10.100.0.0/40' is not a valid CIDR\n"
    assert f"the fleet at revision {bad[:12]} is refused" in captured.err

    assert validate_main(["no-such-branch"]) == 2
    assert "'no-such-branch' is not a commit" in capsys.readouterr().err


def test_validate_outside_a_repository(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert validate_main(["HEAD"]) == 2
    assert "is not a directory, and" in capsys.readouterr().err
