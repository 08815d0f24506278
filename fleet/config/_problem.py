"""A single thing wrong with the fleet configuration, located in a file."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True, order=True)
class Problem:
    """One problem, printed as ``clusters/east.yaml:12:5: spec.network.podCIDR: reason``.

    ``line`` and ``column`` are 1-based (as editors count) and absent when the
    problem concerns a whole file or directory; ``field`` is the dotted path
    inside the document (``spec.links[1]``) and empty when the problem is not
    about one field.  The ordering sorts problems by file, then position.
    """

    file: str
    line: int = 0
    column: int = 0
    field: str = ""
    reason: str = ""

    def format(self) -> str:
        where = self.file if not self.line else f"{self.file}:{self.line}:{self.column}"
        return f"{where}: {self.field}: {self.reason}" if self.field else f"{where}: {self.reason}"

    def __str__(self) -> str:
        return self.format()
