"""Rendered output of every example cluster matches its golden file (MESHFLEET_UPDATE_GOLDEN=1 rewrites them)."""

from __future__ import annotations

from pathlib import Path

import pytest
from render_support import GOLDEN_DIR, REVISION, UPDATE, example_fleet, normalise

from fleet.render import render_cluster, to_yaml_stream


@pytest.mark.parametrize("cluster", ["east", "north", "west"])
def test_render_matches_golden_file(tmp_path: Path, cluster: str) -> None:
    config = example_fleet(tmp_path / "fleet")
    text = to_yaml_stream(normalise(render_cluster(config, cluster, REVISION), config.trust_bundle_pem))
    golden = GOLDEN_DIR / f"{cluster}.golden.yaml"
    if UPDATE:
        golden.write_text(text)
    assert golden.exists(), f"{golden} is missing; run with MESHFLEET_UPDATE_GOLDEN=1 to create it"
    assert text == golden.read_text(), f"rendered {cluster} differs from {golden.name}"


def test_every_example_cluster_has_a_golden_file(tmp_path: Path) -> None:
    config = example_fleet(tmp_path / "fleet")
    assert {p.name for p in GOLDEN_DIR.glob("*.golden.yaml")} == {f"{n}.golden.yaml" for n in config.cluster_names}
