"""Snapshot tests: each screen on the fixture fleet (update with --snapshot-update after review)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from textual.pilot import Pilot
from tui_fixtures import StaticFeed, fleet_view

from tui.app.app import FleetApp

SIZE = (190, 34)


def app() -> FleetApp:
    view = fleet_view()
    return FleetApp(StaticFeed(view), refresh_s=3600, initial=view)


async def settle(pilot: Pilot[Any]) -> None:
    await pilot.pause()
    await pilot.wait_for_scheduled_animations()


@pytest.mark.parametrize(
    ("name", "keys"),
    [
        ("overview", ()),
        ("workloads", ("enter",)),
        ("workload", ("enter", "enter")),
        ("trust", ("colon", *"trust", "enter")),
        ("events", ("colon", *"events", "enter")),
        ("help", ("question_mark",)),
        ("filtered", ("colon", *"workloads", "enter", "slash", *"cluster:west")),
    ],
)
def test_screen(snap_compare: Callable[..., bool], name: str, keys: tuple[str, ...]) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        await pilot.press(*keys)
        await settle(pilot)

    assert snap_compare(app(), terminal_size=SIZE, run_before=run_before)


def test_too_small(snap_compare: Callable[..., bool]) -> None:
    assert snap_compare(app(), terminal_size=(60, 12), run_before=settle)
