"""Every kind of bad input is refused with ``file:line:column: field: reason``, all problems at once."""

from __future__ import annotations

from pathlib import Path

import pytest
from config_files import FLEET, NOW, WriteFleet, cluster_yaml

from fleet.config import DirectoryTree, check_fleet, load_fleet, validate_main
from fleet.errors import InvalidConfig


def problems_of(root: Path) -> list[str]:
    config, problems = check_fleet(DirectoryTree(root), now=NOW)
    assert config is None
    return [problem.format() for problem in problems]


def test_invalid_yaml_reports_its_line_and_column(write_fleet: WriteFleet) -> None:
    root = write_fleet(
        FLEET,
        {
            "east.yaml": "apiVersion: meshfleet.io/v1alpha1\nkind: Cluster\nmetadata:\n  name: [east\n",
            "west.yaml": cluster_yaml("west", 1),
        },
    )
    assert problems_of(root) == [
        "clusters/east.yaml:5:1: invalid YAML: while parsing a flow sequence: "
        "expected ',' or ']', but got '<stream end>'",
    ]


def test_duplicate_keys_are_reported_where_the_second_is(write_fleet: WriteFleet) -> None:
    text = cluster_yaml("east", 0).replace(
        "  kubeconfigContext: ctx-east\n", "  kubeconfigContext: a\n  kubeconfigContext: b\n"
    )
    root = write_fleet(FLEET, {"east.yaml": text})
    assert problems_of(root) == [
        "clusters/east.yaml:7:3: spec.kubeconfigContext: duplicate key (first written at line 6, column 3)",
    ]


def test_cidr_mistakes(write_fleet: WriteFleet) -> None:
    text = cluster_yaml("east", 0).replace("10.100.0.0/16", "10.0.0.0/33").replace("10.200.0.0/16", "10.200.0.1/16")
    root = write_fleet(FLEET, {"east.yaml": text})
    assert problems_of(root) == [
        "clusters/east.yaml:8:14: spec.network.podCIDR: '10.0.0.0/33' is not a valid CIDR",
        "clusters/east.yaml:9:18: spec.network.serviceCIDR: '10.200.0.1/16' has host bits set; "
        "did you mean '10.200.0.0/16'?",
    ]


def test_schema_violations_are_all_reported(write_fleet: WriteFleet) -> None:
    text = """\
    apiVersion: meshfleet.io/v1
    kind: Cluster
    metadata:
      name: east
      labels: {}
    spec:
      network:
        podCIDR: 10.100.0.0/16
      links: west
      overrides:
        replicas: 0
        logLevel: verbose
        defaultInboundPolicy: everyone
        drift: fix
        resources:
          requests: {cpu: lots}
      prometheus: ftp://prom
    """
    root = write_fleet(FLEET, {"east.yaml": text})
    assert problems_of(root) == [
        "clusters/east.yaml:1:13: apiVersion: must be 'meshfleet.io/v1alpha1', not 'meshfleet.io/v1'",
        "clusters/east.yaml:5:3: metadata.labels: unknown field; expected one of: name",
        "clusters/east.yaml:7:3: spec.kubeconfigContext: is required",
        "clusters/east.yaml:8:5: spec.network.serviceCIDR: is required",
        "clusters/east.yaml:9:10: spec.links: must be a list, not a string",
        "clusters/east.yaml:11:15: spec.overrides.replicas: 0 must be at least 1",
        "clusters/east.yaml:12:15: spec.overrides.logLevel: 'verbose' is not one of: error, warn, info, debug, trace",
        "clusters/east.yaml:13:27: spec.overrides.defaultInboundPolicy: 'everyone' is not one of: "
        "all-unauthenticated, all-authenticated, cluster-authenticated, deny, audit",
        "clusters/east.yaml:14:12: spec.overrides.drift: 'fix' is not one of: correct, report",
        "clusters/east.yaml:16:23: spec.overrides.resources.requests.cpu: 'lots' is not a CPU quantity "
        "such as 100m or 2",
        "clusters/east.yaml:17:15: spec.prometheus: 'ftp://prom' is not an http:// or https:// URL "
        "without user information",
    ]


def test_credentials_in_a_cluster_file_are_refused_without_echoing_them(write_fleet: WriteFleet) -> None:
    text = cluster_yaml("east", 0) + "  token: s3cr3t-value\n  auth:\n    client-key: AAAA\n"
    root = write_fleet(FLEET, {"east.yaml": text})
    problems = problems_of(root)
    reason = (
        "looks like a credential; credentials never belong in Git, reach the cluster through spec.kubeconfigContext"
    )
    assert problems == [
        f"clusters/east.yaml:10:3: spec.token: {reason}",
        f"clusters/east.yaml:11:3: spec.auth: {reason}",
    ]
    assert not any("s3cr3t" in line or "AAAA" in line for line in problems)


def test_a_private_key_value_is_refused_without_echoing_it(write_fleet: WriteFleet) -> None:
    text = cluster_yaml("east", 0).replace(
        "ctx-east", '"-----BEGIN ' + 'EC PRIVATE KEY-----\\nMHcCAQEEIabc\\n-----END EC PRIVATE KEY-----"'
    )
    problems = problems_of(write_fleet(FLEET, {"east.yaml": text}))
    assert problems == [
        "clusters/east.yaml:6:3: spec.kubeconfigContext: contains a private key; private keys never belong in Git"
    ]


def test_duplicate_names_and_name_not_matching_the_file(write_fleet: WriteFleet) -> None:
    root = write_fleet(
        FLEET,
        {"east.yaml": cluster_yaml("east", 0), "eastern.yaml": cluster_yaml("east", 1)},
    )
    assert problems_of(root) == [
        "clusters/eastern.yaml:4:9: metadata.name: 'east' does not match the file name; expected 'eastern'",
        "clusters/eastern.yaml:4:9: metadata.name: 'east' is also the name of the cluster in clusters/east.yaml:4:9",
    ]


def test_broken_and_self_links(write_fleet: WriteFleet) -> None:
    root = write_fleet(
        FLEET,
        {"east.yaml": cluster_yaml("east", 0, "[south, east]"), "west.yaml": cluster_yaml("west", 1)},
    )
    assert problems_of(root) == [
        "clusters/east.yaml:10:11: spec.links[0]: 'south' is not a cluster of this fleet (clusters: east, west)",
        "clusters/east.yaml:10:18: spec.links[1]: a cluster cannot link to itself",
    ]


def test_overlapping_networks_of_linked_clusters(write_fleet: WriteFleet) -> None:
    west = cluster_yaml("west", 1, "[east]").replace("10.201.0.0/16", "10.100.128.0/17")
    root = write_fleet(
        FLEET,
        {
            "east.yaml": cluster_yaml("east", 0, "[west]"),
            "west.yaml": west,
            # north reuses east's networks but is linked to nobody: allowed.
            "north.yaml": cluster_yaml("north", 0),
        },
    )
    assert problems_of(root) == [
        "clusters/east.yaml:8:14: spec.network.podCIDR: '10.100.0.0/16' overlaps serviceCIDR "
        "'10.100.128.0/17' of linked cluster 'west' (clusters/west.yaml:9:18); linked clusters need disjoint networks",
    ]


def test_pod_and_service_networks_of_one_cluster_must_not_overlap(write_fleet: WriteFleet) -> None:
    text = cluster_yaml("east", 0).replace("10.200.0.0/16", "10.0.0.0/8").replace("10.100.0.0/16", "10.1.0.0/16")
    assert problems_of(write_fleet(FLEET, {"east.yaml": text})) == [
        "clusters/east.yaml:9:18: spec.network.serviceCIDR: '10.0.0.0/8' overlaps spec.network.podCIDR '10.1.0.0/16'",
    ]


def test_bad_waves(write_fleet: WriteFleet) -> None:
    fleet = FLEET + "  rollout:\n    waves:\n      - [east, south]\n      - clusters: [east]\n        timeout: 0s\n"
    root = write_fleet(
        fleet,
        {"east.yaml": cluster_yaml("east", 0), "west.yaml": cluster_yaml("west", 1)},
    )
    assert problems_of(root) == [
        "fleet.yaml:10:7: spec.rollout.waves: cluster 'west' (clusters/west.yaml) is in no wave; "
        "every cluster rolls out in exactly one",
        "fleet.yaml:10:16: spec.rollout.waves[0][1]: 'south' is not a cluster of this fleet (clusters: east, west)",
        "fleet.yaml:11:20: spec.rollout.waves[1].clusters[0]: 'east' is already in spec.rollout.waves[0][0]; "
        "a cluster rolls out in one wave",
        "fleet.yaml:12:18: spec.rollout.waves[1].timeout: '0s' must be longer than 0s",
    ]


def test_wave_shape_and_durations(write_fleet: WriteFleet) -> None:
    fleet = FLEET + "  rollout:\n    waveTimeout: soon\n    waves:\n      - east\n"
    root = write_fleet(fleet, {"east.yaml": cluster_yaml("east", 0)})
    assert problems_of(root) == [
        "fleet.yaml:9:18: spec.rollout.waveTimeout: 'soon' is not a duration such as 90s, 10m or 1h30m",
        "fleet.yaml:11:9: spec.rollout.waves[0]: 'east' must be a list of cluster names, "
        "or {clusters: [...], timeout: ...}",
    ]


def test_a_wave_with_its_own_timeout_is_checked_field_by_field(write_fleet: WriteFleet) -> None:
    fleet = FLEET + "  rollout:\n    waves:\n      - clusters: [east]\n        timeout: later\n        size: 2\n"
    root = write_fleet(fleet, {"east.yaml": cluster_yaml("east", 0)})
    assert problems_of(root) == [
        "fleet.yaml:11:18: spec.rollout.waves[0].timeout: 'later' is not a duration such as 90s, 10m or 1h30m",
        "fleet.yaml:12:9: spec.rollout.waves[0].size: unknown field; expected one of: clusters, timeout",
    ]


def test_unsupported_mesh_version_and_unquoted_version(write_fleet: WriteFleet) -> None:
    root = write_fleet(FLEET.replace('"0.1.0"', '"9.9.9"'), {"east.yaml": cluster_yaml("east", 0)})
    assert problems_of(root) == [
        "fleet.yaml:7:14: spec.mesh.version: '9.9.9' is not a supported mesh version (supported: 0.1.0)",
    ]
    unquoted = write_fleet(
        FLEET.replace('"0.1.0"', "0.1"), {"east.yaml": cluster_yaml("east", 0)}, root=root.parent / "other"
    )
    assert problems_of(unquoted) == [
        'fleet.yaml:7:14: spec.mesh.version: must be a quoted string such as "0.1.0"',
    ]


def test_ha_needs_two_replicas(write_fleet: WriteFleet) -> None:
    east = cluster_yaml("east", 0) + "  overrides:\n    ha: true\n"
    west = cluster_yaml("west", 1) + "  overrides:\n    ha: true\n    replicas: 3\n"
    root = write_fleet(FLEET, {"east.yaml": east, "west.yaml": west})
    assert problems_of(root) == [
        "clusters/east.yaml:11:9: spec.overrides.ha: ha needs at least 2 replicas, but replicas is 1",
    ]


def test_missing_fleet_file_and_clusters(write_fleet: WriteFleet) -> None:
    root = write_fleet(None, {"README.md": "not a cluster"})
    assert problems_of(root) == [
        "clusters/: no cluster files; add clusters/<name>.yaml",
        "fleet.yaml: not found; a fleet repository has fleet.yaml at its root",
    ]


def test_problems_from_every_file_come_together_and_validate_exits_2(
    write_fleet: WriteFleet, capsys: pytest.CaptureFixture[str]
) -> None:
    east = cluster_yaml("east", 0, "[nowhere]").replace("10.100.0.0/16", "10.0.0.0/33")
    root = write_fleet(
        FLEET.replace('"0.1.0"', '"2.0.0"'),
        {"east.yaml": east, "west.yaml": "kind: [\n"},
        anchors={"root.crt": b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"},
    )
    with pytest.raises(InvalidConfig) as raised:
        load_fleet(DirectoryTree(root), now=NOW)
    expected = [
        "clusters/east.yaml:8:14: spec.network.podCIDR: '10.0.0.0/33' is not a valid CIDR",
        "clusters/east.yaml:10:11: spec.links[0]: 'nowhere' is not a cluster of this fleet (clusters: east, west)",
        "clusters/west.yaml:2:1: invalid YAML: while parsing a flow node: expected the node content, "
        "but found '<stream end>'",
        "fleet.yaml:7:14: spec.mesh.version: '2.0.0' is not a supported mesh version (supported: 0.1.0)",
        "trust-anchors/: no valid, unexpired CA certificate; the fleet needs at least one trust anchor",
        "trust-anchors/root.crt:1:1: malformed certificate: its DER data cannot be parsed",
    ]
    assert [problem.format() for problem in raised.value.problems] == expected

    assert validate_main([str(root)]) == 2
    captured = capsys.readouterr()
    assert captured.out.splitlines() == expected
    assert "6 problems" in captured.err
