"""Mesh releases this fleet manager knows how to render and roll out."""

from __future__ import annotations

SUPPORTED_MESH_VERSIONS: tuple[str, ...] = ("0.1.0",)
