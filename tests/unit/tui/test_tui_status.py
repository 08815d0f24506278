import pytest
from tui_fixtures import status_doc

from tui.errors import StatusInvalid
from tui.status import ClusterState, parse_status, parse_status_text


def test_parses_the_fixture_document() -> None:
    s = parse_status(status_doc())
    assert [c.name for c in s.clusters] == ["east", "west", "north"]
    west = s.cluster("west")
    assert west is not None
    assert west.state is ClusterState.DEGRADED
    assert not west.in_sync
    assert west.events[0].reason == "Drift"
    assert s.anchors[0].not_after.year == 2027


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d["clusters"][1].update(state="Sleeping"), r"clusters\[1\].state: 'Sleeping' is not one of"),
        (lambda d: d["clusters"][0].update(meshedPods="12"), r"clusters\[0\].meshedPods: expected a non-negative"),
        (lambda d: d.update(generatedAt="yesterday"), r"generatedAt: 'yesterday' is not an RFC 3339 time"),
        (lambda d: d["anchors"][0].update(notAfter="2027-01-01T00:00:00"), r"anchors\[0\].notAfter: .* no time zone"),
    ],
)
def test_bad_fields_are_named(mutate, message: str) -> None:  # type: ignore[no-untyped-def]
    doc = status_doc()
    mutate(doc)
    with pytest.raises(StatusInvalid, match=message):
        parse_status(doc, "fleet-status.json")


def test_not_json() -> None:
    with pytest.raises(StatusInvalid, match="fleet-status.json: not JSON"):
        parse_status_text("{", "fleet-status.json")
