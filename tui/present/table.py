"""Tables as plain values: what every screen and ``--once --format table`` display (pure).

A cell carries its text, a value to sort by and a health level.  Unhealthy text starts with a
symbol (``✗`` bad, ``!`` warning) so it reads without colour; the UI adds colour by level.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, replace

SortKey = float | str | None


class Level(enum.Enum):
    NONE = "none"
    OK = "ok"
    WARN = "warn"
    BAD = "bad"


SYMBOL = {Level.BAD: "✗ ", Level.WARN: "! "}


@dataclass(frozen=True, slots=True)
class Cell:
    text: str
    sort: SortKey = None
    level: Level = Level.NONE

    @property
    def shown(self) -> str:
        """The text with its health symbol."""
        return SYMBOL.get(self.level, "") + self.text


@dataclass(frozen=True, slots=True)
class Column:
    key: str  # also the name used in filters: ``cluster:east``
    title: str
    numeric: bool = False


@dataclass(frozen=True, slots=True)
class Row:
    key: str  # stable across refreshes, so the cursor stays on the same row
    cells: tuple[Cell, ...]


@dataclass(frozen=True, slots=True)
class Table:
    columns: tuple[Column, ...]
    rows: tuple[Row, ...]

    def column_index(self, key: str) -> int | None:
        for i, c in enumerate(self.columns):
            if c.key == key:
                return i
        return None


def filter_rows(table: Table, query: str) -> Table:
    """Keep rows matching every word of ``query`` (case-insensitive substrings).

    ``col:text`` matches in that column only (``cluster:east``, ``ns:shop``); a bare word matches
    any column.  Unknown column names match nothing, so a typo shows an empty table, not
    everything.
    """
    words = query.lower().split()
    if not words:
        return table

    def matches(row: Row, word: str) -> bool:
        col, sep, text = word.partition(":")
        if sep and col:
            i = table.column_index(col)
            return i is not None and text in row.cells[i].shown.lower()
        return any(word in c.shown.lower() for c in row.cells)

    return replace(table, rows=tuple(r for r in table.rows if all(matches(r, w) for w in words)))


def sort_rows(table: Table, key: str | None, descending: bool = False) -> Table:
    """Sort by one column; empty values always last, numbers before text."""
    i = table.column_index(key) if key else None
    if i is None:
        return table

    def k(row: Row) -> tuple[int, float, str]:
        v = row.cells[i].sort
        if v is None:
            return (2, 0.0, "")
        if isinstance(v, str):
            return (1, 0.0, v)
        return (0, v, "")

    present = [r for r in table.rows if r.cells[i].sort is not None]
    missing = [r for r in table.rows if r.cells[i].sort is None]
    return replace(table, rows=tuple(sorted(present, key=k, reverse=descending) + missing))


def render_text(table: Table) -> str:
    """Aligned plain-text columns, as printed by ``--once --format table``."""
    rows = [[c.title for c in table.columns]] + [[c.shown for c in r.cells] for r in table.rows]
    widths = [max(len(r[i]) for r in rows) for i in range(len(table.columns))]

    def line(cells: Sequence[str]) -> str:
        out = []
        for i, text in enumerate(cells):
            out.append(text.rjust(widths[i]) if table.columns[i].numeric else text.ljust(widths[i]))
        return "  ".join(out).rstrip()

    return "\n".join(line(r) for r in rows) + "\n"
