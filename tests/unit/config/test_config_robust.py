"""Whatever a fleet file contains, checking it reports problems and never crashes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from config_files import FLEET, NOW, certificate, cluster_yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fleet.config import DirectoryTree, FileTree, check_fleet

FIELDS = [
    "apiVersion",
    "kind",
    "metadata",
    "name",
    "spec",
    "kubeconfigContext",
    "network",
    "podCIDR",
    "serviceCIDR",
    "gatewayAddress",
    "links",
    "overrides",
    "replicas",
    "ha",
    "resources",
    "requests",
    "cpu",
    "memory",
    "drift",
    "rollout",
    "waves",
    "clusters",
    "timeout",
    "mesh",
    "version",
    "east",
]
scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-3, 70), st.sampled_from(["10.0.0.0/8", "10.1.0.0/33", "east", "1m", ""])
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(FIELDS), inner, max_size=4),
    max_leaves=12,
)


class MemoryTree:
    def __init__(self, files: dict[str, bytes]) -> None:
        self.files = files

    def read(self, path: str) -> bytes | None:
        return self.files.get(path)

    def list(self, directory: str) -> list[str]:
        prefix = f"{directory}/"
        return sorted(p[len(prefix) :] for p in self.files if p.startswith(prefix) and "/" not in p[len(prefix) :])


def fleet_with(cluster: Any, fleet: Any) -> FileTree:
    return MemoryTree(
        {
            "fleet.yaml": yaml.safe_dump(fleet).encode() if fleet is not None else FLEET.encode(),
            "clusters/east.yaml": yaml.safe_dump(cluster).encode(),
            "clusters/west.yaml": cluster_yaml("west", 1, "[east]").encode(),
            "trust-anchors/root.crt": ANCHOR,
        }
    )


ANCHOR = certificate()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cluster=values, fleet=st.none() | values)
def test_arbitrary_documents_give_problems_not_crashes(cluster: Any, fleet: Any) -> None:
    config, problems = check_fleet(fleet_with(cluster, fleet), now=NOW)
    assert (config is None) == bool(problems)
    for problem in problems:
        assert problem.reason
        assert problem.file in ("fleet.yaml", "clusters/east.yaml", "clusters/west.yaml", "trust-anchors/")


@settings(max_examples=100, deadline=None)
@given(text=st.text(max_size=80))
def test_arbitrary_text_as_a_cluster_file(text: str) -> None:
    files = fleet_with({}, None)
    assert isinstance(files, MemoryTree)
    files.files["clusters/east.yaml"] = text.encode("utf-8", "surrogatepass")
    config, problems = check_fleet(files, now=NOW)
    assert config is None
    assert problems


def test_symbolic_links_are_not_fleet_files(tmp_path: Path) -> None:
    root = tmp_path / "fleet"
    (root / "clusters").mkdir(parents=True)
    (root / "trust-anchors").mkdir()
    (root / "fleet.yaml").write_text(FLEET)
    (root / "clusters" / "east.yaml").write_text(cluster_yaml("east", 0))
    outside = tmp_path / "outside.crt"
    outside.write_bytes(ANCHOR)
    (root / "trust-anchors" / "root.crt").symlink_to(outside)
    tree = DirectoryTree(root)
    assert tree.list("trust-anchors") == []
    assert tree.read("trust-anchors/root.crt") is None
    assert [p.format() for p in check_fleet(tree, now=NOW)[1]] == [
        "trust-anchors/: no valid, unexpired CA certificate; the fleet needs at least one trust anchor"
    ]
