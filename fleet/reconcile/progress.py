"""A per-cluster progress display while reconciling.

On a terminal the block of cluster lines is redrawn in place; elsewhere
(a CI log, a pipe) a line is printed only when a cluster's state or message
changes.  ``lines`` is pure.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TextIO

from fleet.reconcile.model import ClusterState, ClusterStatus

_MARK = {
    ClusterState.PENDING: "·", ClusterState.APPLYING: "…", ClusterState.PROGRESSING: "~",
    ClusterState.READY: "✓", ClusterState.DEGRADED: "!", ClusterState.FAILED: "✗", ClusterState.UNREACHABLE: "?",
}


def line(status: ClusterStatus, width: int) -> str:
    rev = (status.applied_revision or "-")[:12]
    return f"{_MARK[status.state]} {status.name.ljust(width)}  {str(status.state).ljust(11)}  {rev.ljust(12)}  " \
           f"{status.message}"


def lines(statuses: Mapping[str, ClusterStatus]) -> list[str]:
    width = max((len(n) for n in statuses), default=0)
    return [line(statuses[name], width) for name in sorted(statuses)]


class ProgressDisplay:
    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._tty = stream.isatty()
        self._drawn = 0
        self._last: dict[str, str] = {}

    def __call__(self, statuses: Mapping[str, ClusterStatus]) -> None:
        current = lines(statuses)
        if self._tty:
            if self._drawn:
                self._stream.write(f"\x1b[{self._drawn}F\x1b[J")
            self._stream.write("\n".join(current) + "\n")
            self._drawn = len(current)
        else:
            for name, text in zip(sorted(statuses), current, strict=True):
                if self._last.get(name) != text:
                    self._stream.write(text + "\n")
                    self._last[name] = text
        self._stream.flush()
