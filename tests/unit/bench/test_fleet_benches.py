"""The podlet, control-plane and reconciler benchmarks measure what they claim: their inputs are valid."""

from __future__ import annotations

import importlib.util
import sys
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType

from fleet.config import DirectoryTree, check_fleet, load_fleet
from fleet.render import render_fleet

ROOT = Path(__file__).resolve().parents[3]


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"bench_{name}", ROOT / "bench" / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


reconcile = _load("reconcile")
control_plane = _load("control_plane")
podlet_pods = _load("podlet_pods")


def test_generated_fleet_is_valid_links_pairs_and_differs_only_in_log_level() -> None:
    anchor = reconcile._anchor_pem()
    now = datetime.now(UTC)
    old = load_fleet(reconcile.generated_fleet(5, "info", anchor, wave_size=2), now=now)
    new = load_fleet(reconcile.generated_fleet(5, "debug", anchor, wave_size=2), now=now)
    assert old.cluster_names == new.cluster_names == ("c0000", "c0001", "c0002", "c0003", "c0004")
    assert [len(w.clusters) for w in new.waves] == [2, 2, 1]
    assert new.cluster("c0000").links == ("c0001",)
    assert new.cluster("c0004").links == ()  # its pair would be c0005, which does not exist
    assert str(new.cluster("c0004").settings.log_level) != str(old.cluster("c0004").settings.log_level)
    rendered = render_fleet(new, "b" * 40)
    kinds = {o["kind"] for o in rendered["c0000"]}
    assert "Link" in kinds  # a linked cluster renders its gateway and Link, so the benchmark covers them
    assert "Link" not in {o["kind"] for o in rendered["c0004"]}


def test_example_fleet_in_one_wave_with_another_log_level_is_still_valid(tmp_path: Path) -> None:
    text = (ROOT / "fleet.yaml").read_text()
    changed = reconcile.set_log_level(reconcile.one_wave(text, ["north", "east", "west"]), "debug")
    assert changed != text
    (tmp_path / "clusters").mkdir()
    (tmp_path / "fleet.yaml").write_text(changed)
    for name in ("north", "east", "west"):
        (tmp_path / "clusters" / f"{name}.yaml").write_text((ROOT / "clusters" / f"{name}.yaml").read_text())
    (tmp_path / "trust-anchors").mkdir()
    (tmp_path / "trust-anchors" / "a.pem").write_bytes(reconcile._anchor_pem())
    config, problems = check_fleet(DirectoryTree(tmp_path), now=datetime.now(UTC))
    assert problems == ()
    assert config is not None
    assert [sorted(w.clusters) for w in config.waves] == [["east", "north", "west"]]
    assert {str(c.settings.log_level) for c in config.clusters} == {"debug"}


def test_endpoint_rounds_are_recognised_from_the_address_a_subscriber_sees() -> None:
    for r in (1, 249, 250, 1019):
        assert control_plane.round_of(f"{control_plane.round_ip(r)}:8080") == r
    assert control_plane.round_of(f"{control_plane.BASE_IP}:8080") is None
    addresses = [e["addresses"][0] for e in control_plane.endpoint_slice(7)["endpoints"]]
    assert addresses == [control_plane.BASE_IP, control_plane.round_ip(7)]


def test_percentile_picks_the_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert control_plane.pct(values, 50) == 50.0
    assert control_plane.pct(values, 99) == 99.0
    assert reconcile.pct([3.0, 1.0, 2.0], 90) == 3.0


def test_demo_deployment_runs_the_product_image_with_a_readiness_probe() -> None:
    dep = podlet_pods.deployment("demo-50", 50)
    container = dep["spec"]["template"]["spec"]["containers"][0]
    assert dep["spec"]["replicas"] == 50
    assert container["image"] == "ghcr.io/meshfleet/meshfleet:0.1.0"
    assert container["command"] == ["meshfleet", "demo-app"]
    assert container["readinessProbe"]["httpGet"]["path"] == "/healthz"
