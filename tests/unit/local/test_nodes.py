"""`meshfleet local up --nodes N`: names, the fleet record and `local status` with several nodes per cluster."""

import json
from pathlib import Path

import pytest

from fleet.cli import main
from fleet.local.fleet import ClusterStatus, status_json, status_table
from fleet.local.process import ProcessRecord
from fleet.local.state import ClusterRecord, FleetState
from fleet.local.topology import MAX_NODES, Ports, TopologyError, parse_nodes, plan, podlet_component


@pytest.mark.parametrize("count", ["0", "-2", "two", str(MAX_NODES + 1)])
def test_a_bad_node_count_is_a_usage_error_naming_the_flag(count: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as e:
        main(["local", "up", "--nodes", count])
    assert e.value.code == 2
    assert "--nodes" in capsys.readouterr().err
    with pytest.raises(TopologyError, match="--nodes"):
        parse_nodes(count)


def test_each_node_has_its_own_name_and_podlet_process_name() -> None:
    east, west = plan(("east", "west"))
    assert parse_nodes("3") == 3
    nodes = east.node_names(3)
    assert nodes == ("east-node-1", "east-node-2", "east-node-3")
    assert not set(nodes) & set(west.node_names(3))
    assert len({podlet_component(n) for n in (*nodes, *west.node_names(3))}) == 6


def _record(nodes: tuple[str, ...]) -> ClusterRecord:
    procs = tuple(ProcessRecord(podlet_component(n), 100 + i, 7, f"/tmp/{n}.log") for i, n in enumerate(nodes))
    return ClusterRecord("east", 0, Ports(1, 2, 3, 4, 5),
                         procs, 1.0, None, nodes)


def test_the_fleet_record_keeps_the_nodes_and_reads_older_records_without_them(tmp_path: Path) -> None:
    state = FleetState(tmp_path)
    state.clusters = {"east": _record(("east-node-1", "east-node-2"))}
    state.save()
    again = FleetState.load(tmp_path).clusters["east"]
    assert again.nodes == ("east-node-1", "east-node-2")
    assert [p.component for p in again.processes] == ["podlet-east-node-1", "podlet-east-node-2"]
    doc = json.loads(state.file.read_text())
    del doc["clusters"][0]["nodes"]
    state.file.write_text(json.dumps(doc))
    assert FleetState.load(tmp_path).clusters["east"].nodes == ()


def test_status_shows_how_many_nodes_each_cluster_runs_and_names_them_in_json() -> None:
    two = ClusterStatus("east", "https://127.0.0.1:1", "meshfleet-east", True, 5.0,
                        {"podlet-east-node-1": 11, "podlet-east-node-2": 12}, "/k", None,
                        ("east-node-1", "east-node-2"))
    none = ClusterStatus("west", "https://127.0.0.1:2", "meshfleet-west", True, 5.0, {"etcd": 13}, "/k")
    header, east_row, west_row = status_table([two, none]).splitlines()
    column = header.split().index("NODES") - 1  # "API SERVER" is two words in the header
    assert east_row.split()[column] == "2"
    assert west_row.split()[column] == "0"
    assert "podlet-east-node-2=12" in east_row
    clusters = json.loads(status_json([two, none]))["clusters"]
    assert [c["nodes"] for c in clusters] == [["east-node-1", "east-node-2"], []]
