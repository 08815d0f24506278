"""The example fleet at the repository root is valid and means what its files say."""

from __future__ import annotations

import ipaddress
from datetime import timedelta
from pathlib import Path

import pytest
from config_files import NOW, REPO_ROOT

from fleet.config import (
    DirectoryTree,
    DriftMode,
    InboundPolicy,
    LogLevel,
    load_fleet,
    validate_main,
)


def test_example_fleet_loads_with_the_local_fleet_layout(example_fleet: Path) -> None:
    config = load_fleet(DirectoryTree(example_fleet), now=NOW)

    assert config.cluster_names == ("east", "north", "west")
    for index, name in enumerate(("east", "west", "north")):
        cluster = config.cluster(name)
        assert cluster.kubeconfig_context == f"meshfleet-{name}"
        assert cluster.network.pod_cidr == ipaddress.ip_network(f"10.{100 + index}.0.0/16")
        assert cluster.network.service_cidr == ipaddress.ip_network(f"10.{200 + index}.0.0/16")
        assert cluster.file == f"clusters/{name}.yaml"
    assert config.cluster("east").links == ("west",)
    assert config.cluster("west").links == ("east",)
    assert config.cluster("north").links == ()
    assert [wave.clusters for wave in config.waves] == [("north",), ("east", "west")]
    assert all(wave.timeout == timedelta(minutes=10) for wave in config.waves)
    assert config.mesh.trust_domain == "cluster.local"
    assert config.mesh.namespace == "meshfleet"
    assert len(config.trust_anchors) == 1
    assert config.trust_bundle_pem == (example_fleet / "trust-anchors" / "root.crt").read_bytes()


def test_example_fleet_settings_come_from_fleet_defaults(example_fleet: Path) -> None:
    config = load_fleet(DirectoryTree(example_fleet), now=NOW)

    settings = config.cluster("east").settings
    assert settings == config.defaults
    assert settings.replicas == 1
    assert settings.ha is False
    assert settings.resources.requests.cpu == "100m"
    assert settings.resources.limits.memory == "256Mi"
    assert settings.log_level is LogLevel.INFO
    assert settings.default_inbound_policy is InboundPolicy.ALL_UNAUTHENTICATED
    assert settings.drift is DriftMode.CORRECT


def test_validate_prints_a_summary_and_exits_0(example_fleet: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert validate_main([str(example_fleet)]) == 0

    out = capsys.readouterr().out
    assert out.count("\n") == 1
    assert f"fleet 'local' at {example_fleet} is valid: 3 clusters (east, north, west) in 2 waves" in out


def test_repository_example_fails_only_for_its_missing_anchor(capsys: pytest.CaptureFixture[str]) -> None:
    """Until an anchor is committed, the real example differs from a valid one only by trust-anchors/."""
    anchors = [p for p in (REPO_ROOT / "trust-anchors").iterdir() if p.suffix in (".crt", ".pem")]
    code = validate_main([str(REPO_ROOT)])
    out = capsys.readouterr().out
    if anchors:
        assert code == 0, out
    else:
        assert code == 2
        assert out.splitlines() == [
            "trust-anchors/: no valid, unexpired CA certificate; the fleet needs at least one trust anchor"
        ]
