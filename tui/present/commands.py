"""The ``:`` command palette's language (pure): ``:cluster east``, ``:ns shop``, ``:trust``..."""

from __future__ import annotations

from dataclasses import dataclass

VIEWS = {
    "clusters": "overview", "cluster": "overview", "overview": "overview", "cl": "overview",
    "workloads": "workloads", "wl": "workloads", "deploy": "workloads",
    "trust": "trust", "certs": "trust",
    "events": "events", "ev": "events",
    "help": "help",
    "q": "quit", "quit": "quit",
}


@dataclass(frozen=True, slots=True)
class Command:
    """Where to go: ``view`` is overview|workloads|trust|events|help|quit; ``filter`` pre-fills ``/``."""

    view: str
    cluster: str | None = None
    filter: str = ""


class CommandError(ValueError):
    """The palette shows this message; nothing else happens."""


def parse_command(text: str, clusters: list[str]) -> Command:
    """``:cluster NAME`` opens that cluster's workloads; ``:ns NAME`` lists that namespace across
    clusters; a bare cluster name works too; ``:workloads``/``:trust``/``:events`` open views."""
    words = text.strip().lstrip(":").split()
    if not words:
        raise CommandError("type a view (clusters, workloads, trust, events), cluster NAME or ns NAME")
    head, args = words[0].lower(), words[1:]
    if head in ("ns", "namespace"):
        if len(args) != 1:
            raise CommandError("usage: ns NAMESPACE")
        return Command("workloads", filter=f"ns:{args[0]}")
    if head in ("cluster", "cl", "ctx", "context") and args:
        return Command("workloads", cluster=_cluster(args[0], clusters))
    if head in VIEWS and not args:
        return Command(VIEWS[head])
    if head in VIEWS and head in ("events", "ev", "workloads", "wl", "deploy") and len(args) == 1:
        return Command(VIEWS[head], cluster=_cluster(args[0], clusters))
    if head in clusters and not args:
        return Command("workloads", cluster=head)
    raise CommandError(f"unknown command {text.strip()!r}")


def _cluster(name: str, clusters: list[str]) -> str:
    if name in clusters:
        return name
    matches = [c for c in clusters if c.startswith(name)]
    if len(matches) == 1:
        return matches[0]
    raise CommandError(f"no cluster named {name!r}" if not matches else
                       f"{name!r} could be any of {', '.join(matches)}")
