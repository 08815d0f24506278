"""Rendered objects as text: one YAML stream, byte-for-byte the same for the same input."""

from __future__ import annotations

from collections.abc import Iterable

import yaml

from fleet.apply.plan import Obj


class _Dumper(yaml.SafeDumper):
    """Multi-line strings (certificates, JSON documents) as literal blocks, so diffs read line by line."""


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    if "\n" in value:
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", value)


_Dumper.add_representer(str, _str)


def to_yaml(obj: Obj) -> str:
    return yaml.dump(obj, Dumper=_Dumper, sort_keys=True, default_flow_style=False, width=100)


def to_yaml_stream(objects: Iterable[Obj]) -> str:
    return "".join(f"---\n{to_yaml(obj)}" for obj in objects)
