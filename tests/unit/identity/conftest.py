"""An identity service on 127.0.0.1 with fresh PKI material and an in-process TokenReviewer."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from identity_fixtures import Env, running_env


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[Env]:
    async with running_env(tmp_path) as started:
        yield started
