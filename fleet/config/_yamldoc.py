"""Parse YAML while remembering where every node was written.

``yaml.safe_load`` forgets positions, so documents are composed into nodes
first (each carries a start mark) and turned into plain values here.  The
result maps every JSON-pointer-like path -- a tuple of keys and indexes -- to
the 1-based line and column of its value, and of its key for mapping entries,
so a problem found later in the plain values can be reported where the user
wrote it.  Pure: takes text, returns values.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

from fleet.config._problem import Problem

Path = tuple[str | int, ...]
Position = tuple[int, int]


@dataclass(frozen=True, slots=True)
class Document:
    """A parsed YAML file: its plain value and the position of every node in it."""

    file: str
    value: Any
    values: dict[Path, Position] = field(default_factory=dict)
    keys: dict[Path, Position] = field(default_factory=dict)

    def position(self, path: Path, *, key: bool = False) -> Position:
        """Where ``path`` was written; the nearest written ancestor when it was not (a missing field)."""
        if key and path in self.keys:
            return self.keys[path]
        for end in range(len(path), -1, -1):
            found = self.values.get(path[:end])
            if found is not None:
                return found
        return (1, 1)

    def get(self, path: Path) -> Any:
        """The value at ``path``, or None when any step of it is missing or of the wrong kind."""
        node: Any = self.value
        for step in path:
            if isinstance(step, str) and isinstance(node, dict):
                node = node.get(step)
            elif isinstance(step, int) and isinstance(node, list) and 0 <= step < len(node):
                node = node[step]
            else:
                return None
        return node

    def problem(self, path: Path, reason: str, *, key: bool = False) -> Problem:
        line, column = self.position(path, key=key)
        return Problem(self.file, line, column, format_path(path), reason)


def format_path(path: Path) -> str:
    """``("spec", "links", 1)`` -> ``spec.links[1]``."""
    out = ""
    for step in path:
        if isinstance(step, int):
            out += f"[{step}]"
        else:
            out += f".{step}" if out else step
    return out


def _position(node: yaml.Node) -> Position:
    return (node.start_mark.line + 1, node.start_mark.column + 1)


class _Builder:
    """Turns composed nodes into plain values, recording positions and duplicate keys."""

    def __init__(self, document: Document) -> None:
        self._doc = document
        self._scalars = yaml.constructor.SafeConstructor()
        self.problems: list[Problem] = []
        self._active: set[int] = set()

    def build(self, node: yaml.Node, path: Path) -> Any:
        self._doc.values[path] = _position(node)
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path)
        if isinstance(node, yaml.SequenceNode):
            return self._sequence(node, path)
        return self._scalar(node, path)

    def _enter(self, node: yaml.Node, path: Path) -> bool:
        # An alias may point at one of its own ancestors; a cycle cannot be JSON.
        if id(node) in self._active:
            line, column = _position(node)
            reason = "refers to itself through a YAML alias"
            self.problems.append(Problem(self._doc.file, line, column, format_path(path), reason))
            return False
        self._active.add(id(node))
        return True

    def _mapping(self, node: yaml.MappingNode, path: Path) -> Any:
        if not self._enter(node, path):
            return None
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                line, column = _position(key_node)
                reason = "YAML merge keys (<<) are not supported; write the fields out"
                self.problems.append(Problem(self._doc.file, line, column, format_path(path), reason))
                continue
            if not isinstance(key_node, yaml.ScalarNode):
                line, column = _position(key_node)
                self.problems.append(
                    Problem(self._doc.file, line, column, format_path(path), "keys must be plain strings")
                )
                continue
            # Keys are kept exactly as written: YAML 1.1 would read `on:` or `yes:` as booleans.
            key = str(key_node.value)
            child = (*path, key)
            if key in result:
                line, column = _position(key_node)
                first_line, first_column = self._doc.keys[child]
                reason = f"duplicate key (first written at line {first_line}, column {first_column})"
                self.problems.append(Problem(self._doc.file, line, column, format_path(child), reason))
                continue
            self._doc.keys[child] = _position(key_node)
            result[key] = self.build(value_node, child)
        self._active.discard(id(node))
        return result

    def _sequence(self, node: yaml.SequenceNode, path: Path) -> Any:
        if not self._enter(node, path):
            return None
        result = [self.build(item, (*path, index)) for index, item in enumerate(node.value)]
        self._active.discard(id(node))
        return result

    def _scalar(self, node: yaml.Node, path: Path) -> Any:
        try:
            return self._scalars.construct_object(node, deep=True)
        except yaml.YAMLError as e:
            line, column = _position(node)
            reason = getattr(e, "problem", None) or str(e)
            self.problems.append(Problem(self._doc.file, line, column, format_path(path), reason))
            return None


def parse(file: str, text: bytes) -> tuple[Document | None, list[Problem]]:
    """Parse one YAML document; on failure return None and the problems with their positions."""
    try:
        decoded = text.decode("utf-8")
    except UnicodeDecodeError as e:
        line = text[: e.start].count(b"\n") + 1
        column = e.start - (text.rfind(b"\n", 0, e.start) + 1) + 1
        return None, [Problem(file, line, column, "", "is not valid UTF-8")]
    try:
        root = yaml.compose(decoded, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
        reason = e.problem or e.context or "is not valid YAML"
        if e.context and e.problem:
            reason = f"{e.context}: {e.problem}"
        return None, [Problem(file, line, column, "", f"invalid YAML: {reason}")]
    except yaml.YAMLError as e:
        return None, [Problem(file, 1, 1, "", f"invalid YAML: {e}")]
    if root is None:
        return None, [Problem(file, 1, 1, "", "is empty")]
    document = Document(file, None)
    builder = _Builder(document)
    value = builder.build(root, ())
    if builder.problems:
        return None, builder.problems
    return Document(file, value, document.values, document.keys), []
