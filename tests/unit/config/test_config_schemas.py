"""The shipped schemas are valid JSON Schema 2020-12, and docs/config.md documents every field."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import jsonschema
import pytest
from config_files import REPO_ROOT

from fleet.config import CLUSTER_SCHEMA, FLEET_SCHEMA, schema_text

SCHEMAS = [FLEET_SCHEMA, CLUSTER_SCHEMA, "settings.schema.json"]


def property_names(schema: Any) -> Iterator[str]:
    if isinstance(schema, dict):
        for name, sub in schema.get("properties", {}).items():
            yield name
            yield from property_names(sub)
        for key, sub in schema.items():
            if key != "properties":
                yield from property_names(sub)
    elif isinstance(schema, list):
        for sub in schema:
            yield from property_names(sub)


@pytest.mark.parametrize("name", SCHEMAS)
def test_schema_is_valid_2020_12(name: str) -> None:
    schema = json.loads(schema_text(name))
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema)


@pytest.mark.parametrize("name", SCHEMAS)
def test_every_field_is_documented(name: str) -> None:
    documented = set()
    for path in re.findall(r"`([A-Za-z.\[\]]+)`", (REPO_ROOT / "docs" / "config.md").read_text()):
        documented.update(step.removesuffix("[]") for step in path.split("."))
    missing = sorted(set(property_names(json.loads(schema_text(name)))) - documented)
    assert missing == []
