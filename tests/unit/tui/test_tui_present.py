import pytest
from tui_fixtures import fleet_view

from tui.present.commands import Command, CommandError, parse_command
from tui.present.format import sparkline
from tui.present.overview import overview_table
from tui.present.table import filter_rows, sort_rows

CLUSTERS = ["east", "west", "north"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (":trust", Command("trust")),
        ("cluster we", Command("workloads", cluster="west")),
        ("ns shop", Command("workloads", filter="ns:shop")),
        ("events north", Command("events", cluster="north")),
        ("east", Command("workloads", cluster="east")),
        ("q", Command("quit")),
    ],
)
def test_commands(text: str, expected: Command) -> None:
    assert parse_command(text, CLUSTERS) == expected


def test_ambiguous_or_unknown_cluster_is_refused() -> None:
    with pytest.raises(CommandError, match="could be any of"):
        parse_command("cluster e", ["east", "eu"])
    with pytest.raises(CommandError, match="no cluster named 'mars'"):
        parse_command("cluster mars", CLUSTERS)


def names(table) -> list[str]:  # type: ignore[no-untyped-def]
    return [r.key for r in table.rows]


def test_filter_words_and_columns() -> None:
    table = overview_table(fleet_view())
    assert names(filter_rows(table, "state:degraded")) == ["west"]
    assert names(filter_rows(table, "✗")) == ["west", "north"]  # anything flagged bad
    assert names(filter_rows(table, "nosuchcolumn:x")) == []


def test_sort_puts_unknown_values_last_either_way() -> None:
    table = overview_table(fleet_view())
    assert names(sort_rows(table, "success")) == ["west", "east", "north"]
    assert names(sort_rows(table, "success", descending=True)) == ["east", "west", "north"]


def test_sparkline_scales_to_its_own_range() -> None:
    assert sparkline([0, 7, 14]) == "▁▅█"
    assert sparkline([5, 5]) == "▅▅"  # flat: mid height
    assert sparkline([None, 1, 2]) == " ▁█"
    assert sparkline([]) == ""
