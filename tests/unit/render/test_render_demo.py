"""The demo namespace: meshed, wired web -> api -> backend, carrying the fleet's own trust bundle."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from render_support import REVISION, example_fleet

from fleet.render import demo_enabled, demo_objects, render_cluster
from mesh.manifests import TRUST_BUNDLE_CONFIGMAP, TRUST_BUNDLE_KEY


def test_demo_objects_are_meshed_and_chained(tmp_path: Path) -> None:
    config = example_fleet(tmp_path / "fleet")
    cluster = config.cluster("north")
    objects = demo_objects(config, cluster)
    by_kind = {(o["kind"], o["metadata"]["name"]): o for o in objects}
    ns = by_kind[("Namespace", "demo")]
    assert ns["metadata"]["labels"]["meshfleet.io/inject"] == "enabled"
    bundle = by_kind[("ConfigMap", TRUST_BUNDLE_CONFIGMAP)]["data"][TRUST_BUNDLE_KEY]
    assert bundle.encode() == config.trust_bundle_pem

    def args(name: str) -> list[str]:
        return by_kind[("Deployment", name)]["spec"]["template"]["spec"]["containers"][0]["args"]

    assert "--downstream=http://api.demo.svc.cluster.local:8080/" in args("web")
    assert "--downstream=http://backend.demo.svc.cluster.local:8080/" in args("api-v1")
    assert any(a.startswith("--load=") for a in args("loadgen"))
    sas = {by_kind[("Deployment", d)]["spec"]["template"]["spec"]["serviceAccountName"] for d in ("web", "api-v1")}
    assert sas == {"web", "api"}
    image = by_kind[("Deployment", "web")]["spec"]["template"]["spec"]["containers"][0]["image"]
    assert image.endswith(":" + config.mesh.version)


def test_the_demo_is_rendered_only_when_the_setting_asks_for_it(tmp_path: Path) -> None:
    config = example_fleet(tmp_path / "fleet")
    cluster = config.cluster("north")
    assert demo_enabled(cluster)  # the example fleet turns it on in its defaults
    assert [o for o in render_cluster(config, "north", REVISION) if o["metadata"].get("namespace") == "demo"]
    off = dataclasses.replace(cluster, settings=dataclasses.replace(cluster.settings, demo=False))
    assert not demo_enabled(off)
    without = dataclasses.replace(config, clusters=tuple(off if c.name == "north" else c for c in config.clusters))
    assert not [o for o in render_cluster(without, "north", REVISION) if o["metadata"].get("namespace") == "demo"]
