"""``meshfleet validate [PATH|REV]``: check a fleet directory or a revision without applying anything."""

from __future__ import annotations

import argparse
import os
import sys
from datetime import UTC, datetime
from pathlib import Path

import pygit2

from fleet.config._load import check_fleet
from fleet.config._model import FleetConfig
from fleet.config._tree import DirectoryTree, FileTree, GitTree
from fleet.errors import ConfigError, SourceError

EXIT_VALID = 0
EXIT_INVALID = 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="meshfleet validate",
        description=(
            "Check a fleet repository: schemas, names, links, networks, waves and trust anchors. "
            "Prints every problem as file:line:column: field: reason and exits 2 if there is any."
        ),
    )
    parser.add_argument(
        "target",
        nargs="?",
        default=".",
        metavar="PATH|REV",
        help="a fleet directory (default: .), or a revision of the Git repository in the current directory",
    )
    return parser


def _open(target: str) -> tuple[FileTree, str]:
    if Path(target).is_dir():
        return DirectoryTree(target), f"at {target}"
    discovered = pygit2.discover_repository(os.getcwd())
    if discovered is None:
        raise SourceError(f"{target!r} is not a directory, and {os.getcwd()} is not inside a Git repository")
    tree = GitTree.at(discovered, target)
    return tree, f"at revision {tree.revision[:12]}"


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def summary(config: FleetConfig) -> str:
    """One line saying what a valid fleet contains."""
    names = ", ".join(config.cluster_names)
    return (
        f"{_plural(len(config.clusters), 'cluster')} ({names}) in {_plural(len(config.waves), 'wave')}, "
        f"mesh {config.mesh.version}, trust domain {config.mesh.trust_domain}, "
        f"{_plural(len(config.trust_anchors), 'trust anchor')}"
    )


def validate_main(argv: list[str]) -> int:
    """Run ``meshfleet validate``; returns the exit code (0 valid, 2 invalid or unreadable)."""
    args = _parser().parse_args(argv)
    try:
        tree, where = _open(args.target)
        config, problems = check_fleet(tree, now=datetime.now(UTC))
    except (ConfigError, SourceError) as e:
        print(f"meshfleet validate: {e}", file=sys.stderr)
        return EXIT_INVALID
    if config is None:
        for problem in problems:
            print(problem.format())
        print(f"meshfleet validate: {_plural(len(problems), 'problem')}; the fleet {where} is refused", file=sys.stderr)
        return EXIT_INVALID
    print(f"fleet {config.name!r} {where} is valid: {summary(config)}")
    return EXIT_VALID
