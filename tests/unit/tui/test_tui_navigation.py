"""Pilot tests: what a user sees after pressing keys."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static
from tui_fixtures import StaticFeed, fleet_view

from tui.app.app import FleetApp
from tui.app.screens.events import EventsScreen
from tui.app.screens.help import HelpScreen
from tui.app.screens.overview import OverviewScreen
from tui.app.screens.too_small import TooSmallScreen
from tui.app.screens.trust import TrustScreen
from tui.app.screens.workload import WorkloadScreen
from tui.app.screens.workloads import WorkloadsScreen
from tui.app.widgets import ValueTable

SIZE = (200, 40)


def rows(app: FleetApp, table_id: str) -> list[list[str]]:
    table = app.screen.query_one(f"#{table_id}", ValueTable)
    return [[c.plain if isinstance(c, Text) else str(c) for c in table.get_row_at(i)]
            for i in range(table.row_count)]


def column(app: FleetApp, table_id: str, index: int) -> list[str]:
    return [r[index] for r in rows(app, table_id)]


async def test_overview_lists_every_cluster_with_health_marks() -> None:
    app = FleetApp(StaticFeed(fleet_view()), refresh_s=60)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, OverviewScreen)
        table = {r[0]: r for r in rows(app, "clusters")}
        assert set(table) == {"east", "west", "north"}
        assert table["north"][1] == "✗ no"  # unreachable, readable without colour
        assert table["west"][2] == "! Degraded"
        assert table["west"][3].startswith("! 0f0f0f0")  # applied differs from target
        assert table["west"][7] == "✗ 90.00%"
        assert table["east"][7] == "99.58%"
        assert "connection refused" in table["north"][-1]


async def test_enter_drills_down_to_workloads_then_workload_and_esc_goes_back() -> None:
    app = FleetApp(StaticFeed(fleet_view()), refresh_s=60)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("enter")  # first row: east
        assert isinstance(app.screen, WorkloadsScreen)
        assert app.screen.cluster == "east"
        assert column(app, "inbound", 2) == ["api", "cart"]
        await pilot.press("enter")
        assert isinstance(app.screen, WorkloadScreen)
        assert column(app, "callers", 0) == ["web.shop.serviceaccount.identity.meshfleet.example"]
        assert column(app, "destinations", 0) == ["db.data"]
        await pilot.press("escape")
        assert isinstance(app.screen, WorkloadsScreen)
        await pilot.press("escape")
        assert isinstance(app.screen, OverviewScreen)


async def test_filter_by_cluster_column_across_clusters() -> None:
    app = FleetApp(StaticFeed(fleet_view()), refresh_s=60)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("colon", *"workloads", "enter")
        await pilot.pause()
        assert isinstance(app.screen, WorkloadsScreen)
        assert sorted(column(app, "inbound", 0)) == ["east", "east", "west"]
        await pilot.press("slash", *"cluster:west")
        await pilot.pause()
        assert column(app, "inbound", 0) == ["west"]
        assert column(app, "inbound", 1) == ["pay"]
        await pilot.press("escape")  # clears the filter first
        await pilot.pause()
        assert len(column(app, "inbound", 0)) == 3
        await pilot.press("escape")
        assert isinstance(app.screen, OverviewScreen)


async def test_command_palette_jumps_to_namespace_trust_and_events() -> None:
    app = FleetApp(StaticFeed(fleet_view()), refresh_s=60)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("colon", *"ns pay", "enter")
        await pilot.pause()
        assert isinstance(app.screen, WorkloadsScreen)
        assert column(app, "inbound", 0) == ["west"]
        await pilot.press("colon", *"trust", "enter")
        await pilot.pause()
        assert isinstance(app.screen, TrustScreen)
        issuers = {r[0]: r[2] for r in rows(app, "issuers")}
        assert issuers["west"] == "✗ 5d"
        await pilot.press("colon", *"events", "enter")
        await pilot.pause()
        assert isinstance(app.screen, EventsScreen)
        assert column(app, "events", 3) == ["Drift", "Applied"]  # newest first
        await pilot.press("escape")
        assert isinstance(app.screen, OverviewScreen)


async def test_sort_by_cursor_column_and_reverse() -> None:
    app = FleetApp(StaticFeed(fleet_view()), refresh_s=60)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert column(app, "clusters", 0) == ["east", "west", "north"]
        await pilot.press("s")  # cursor is on the CLUSTER column
        assert column(app, "clusters", 0) == ["east", "north", "west"]
        await pilot.press("s")
        assert column(app, "clusters", 0) == ["west", "north", "east"]


async def test_help_and_refresh_keys() -> None:
    feed = StaticFeed(fleet_view())
    app = FleetApp(feed, refresh_s=60)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        before = feed.calls
        await pilot.press("r")
        await pilot.pause()
        assert feed.calls == before + 1
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        assert isinstance(app.screen, OverviewScreen)


async def test_unknown_command_keeps_the_screen() -> None:
    app = FleetApp(StaticFeed(fleet_view()), refresh_s=60)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("colon", *"cluster nowhere", "enter")
        await pilot.pause()
        assert isinstance(app.screen, OverviewScreen)


async def test_too_small_terminal_shows_a_message_until_enlarged() -> None:
    app = FleetApp(StaticFeed(fleet_view()), refresh_s=60)
    async with app.run_test(size=(60, 12)) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, TooSmallScreen)
        await pilot.resize_terminal(200, 40)
        await pilot.pause()
        assert isinstance(app.screen, OverviewScreen)


async def test_drill_down_data_is_fetched_only_for_the_screen_on_top() -> None:
    feed = StaticFeed(fleet_view())
    app = FleetApp(feed, refresh_s=0.05)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause(0.3)
        assert feed.calls >= 2  # the overview keeps refreshing...
        assert feed.detail_calls == []  # ...without any per-workload data
        await pilot.press("enter")
        await pilot.pause(0.3)
        assert set(feed.detail_calls) == {("east", None)}
        await pilot.press("enter")
        await pilot.pause(0.3)
        assert ("east", ("shop", "api")) in feed.detail_calls
        feed.detail_calls.clear()
        await pilot.pause(0.3)
        assert set(feed.detail_calls) == {("east", ("shop", "api"))}  # the covered workloads list waits
        await pilot.press("escape", "escape")
        assert isinstance(app.screen, OverviewScreen)
        await pilot.pause(0.1)
        feed.detail_calls.clear()
        await pilot.pause(0.3)
        assert feed.detail_calls == []


async def test_a_failed_drill_down_says_so_and_keeps_the_overview() -> None:
    app = FleetApp(StaticFeed(fleet_view()), refresh_s=60)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("colon", *"cluster north", "enter")
        await pilot.pause()
        assert isinstance(app.screen, WorkloadsScreen)
        info = str(app.screen.query_one("#info", Static).render())
        assert info == "✗ north: http://127.0.0.1:9090: connection refused"
        assert rows(app, "inbound") == []
