"""Validate parsed documents against the JSON Schemas shipped in ``schemas/``.

jsonschema's own messages repeat the offending value and the whole schema;
here every error becomes a short reason attached to the field it is about,
so ``spec.network`` missing ``podCIDR`` reads
``spec.network.podCIDR: is required``.  A subschema may carry an
``x-messages`` annotation mapping a keyword to a clearer reason.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import cache
from importlib import resources
from typing import Any

import jsonschema
import referencing
import referencing.jsonschema

from fleet.config._problem import Problem
from fleet.config._yamldoc import Document, Path

FLEET_SCHEMA = "fleet.schema.json"
CLUSTER_SCHEMA = "cluster.schema.json"
_SCHEMA_FILES = ("settings.schema.json", FLEET_SCHEMA, CLUSTER_SCHEMA)
_BASE = "https://meshfleet.io/schemas/v1alpha1/"


def schema_text(name: str) -> str:
    """The text of a shipped schema, for documentation and editors."""
    return resources.files("fleet.config").joinpath("schemas", name).read_text(encoding="utf-8")


@cache
def _validator(name: str) -> Any:
    loaded = {file: json.loads(schema_text(file)) for file in _SCHEMA_FILES}
    registry: referencing.Registry[Any] = referencing.Registry().with_resources(
        (_BASE + file, referencing.jsonschema.DRAFT202012.create_resource(schema)) for file, schema in loaded.items()
    )
    return jsonschema.Draft202012Validator(loaded[name], registry=registry)


_JSON_TYPES = {
    "object": "a mapping",
    "array": "a list",
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
    "null": "nothing",
}


def _describe(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "true or false"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return f"a {type(value).__name__}"


def _is_scalar(value: Any) -> bool:
    return isinstance(value, str | int | float) and not isinstance(value, bool)


def _expected(types: Any) -> str:
    names = [types] if isinstance(types, str) else list(types)
    return " or ".join(_JSON_TYPES.get(name, name) for name in names)


def _branch_of_the_right_type(error: Any) -> list[Any] | None:
    branches: dict[int, list[Any]] = {}
    for sub in error.context:
        branches.setdefault(sub.relative_schema_path[0], []).append(sub)
    for subs in branches.values():
        if not any(sub.validator == "type" and not sub.path for sub in subs):
            return subs
    return None


def _problems(document: Document, error: Any, skip: frozenset[Path]) -> Iterator[Problem]:
    path: Path = tuple(error.absolute_path)
    if any(path[: len(prefix)] == prefix for prefix in skip):
        return
    keyword = error.validator
    custom = error.schema.get("x-messages", {}) if isinstance(error.schema, dict) else {}
    if keyword == "anyOf" and isinstance(error.instance, dict | list):
        branch = _branch_of_the_right_type(error)
        if branch is not None:
            # The value has the shape of one alternative: its own errors say more than "none matched".
            for sub in branch:
                yield from _problems(document, sub, skip)
            return
    if keyword == "required":
        # jsonschema reports the parent; the user is missing a field of it.
        for missing in error.validator_value:
            if isinstance(error.instance, dict) and missing not in error.instance:
                yield document.problem((*path, missing), "is required")
        return
    if keyword == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        for extra in sorted(set(error.instance) - set(allowed)):
            if (*path, extra) in skip:
                continue
            hint = f"; expected one of: {', '.join(allowed)}" if allowed else ""
            yield document.problem((*path, extra), f"unknown field{hint}", key=True)
        return
    if keyword in custom:
        reason = custom[keyword]
    elif keyword == "type":
        reason = f"must be {_expected(error.validator_value)}, not {_describe(error.instance)}"
    elif keyword == "const":
        reason = f"must be {error.validator_value!r}, not {error.instance!r}"
    elif keyword == "enum":
        reason = f"{error.instance!r} is not one of: {', '.join(map(str, error.validator_value))}"
    elif keyword == "pattern":
        reason = f"{error.instance!r} does not match {error.validator_value}"
    elif keyword == "minItems":
        reason = "must not be empty" if error.validator_value == 1 else f"needs {error.validator_value} items"
    elif keyword == "minLength":
        reason = "must not be empty"
    elif keyword in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        relation = {
            "minimum": "at least",
            "maximum": "at most",
            "exclusiveMinimum": "more than",
            "exclusiveMaximum": "less than",
        }[keyword]
        reason = f"{error.instance!r} must be {relation} {error.validator_value}"
    else:
        reason = error.message
    if keyword in custom and keyword != "type" and _is_scalar(error.instance):
        reason = f"{error.instance!r} {reason}"
    yield document.problem(path, reason)


def validate(document: Document, schema: str, *, skip: frozenset[Path] = frozenset()) -> list[Problem]:
    """Every schema violation of ``document``; paths under ``skip`` were already reported otherwise."""
    errors = sorted(_validator(schema).iter_errors(document.value), key=lambda e: list(map(str, e.path)))
    found: dict[Problem, None] = {}
    for error in errors:
        found.update(dict.fromkeys(_problems(document, error, skip)))
    return list(found)
