"""Fixtures for Git source tests: a real upstream repository in a temp dir that tests commit to."""

from __future__ import annotations

from pathlib import Path

import pytest
from source_repos import Upstream


@pytest.fixture
def upstream(tmp_path: Path) -> Upstream:
    return Upstream(tmp_path / "upstream")


@pytest.fixture
def cache(tmp_path: Path) -> Path:
    return tmp_path / "cache"
