"""The local fleet's per-cluster Prometheus: which pods become targets, and its configuration."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from fleet.local.process import ProcessRecord
from fleet.local.prometheus import (
    ADMIN_PORT_NAME,
    DEFAULT_ADMIN_PORT,
    PROXY_CONTAINER,
    PrometheusFiles,
    can_listen,
    config_yaml,
    deployment_of,
    discovery_command,
    pod_target,
    preferred_port,
    prometheus_command,
    scrape_targets,
    targets_document,
)
from fleet.local.state import ClusterRecord, FleetState
from fleet.local.topology import Ports


def _pod(name: str = "web-7d9f8c6b5-abcde", ns: str = "shop", *, phase: str = "Running", ip: str | None = "10.100.0.7",
         proxy: bool = True, as_init: bool = True, admin_port: int | None = 4191,
         owner: tuple[str, str] | None = ("ReplicaSet", "web-7d9f8c6b5"), template_hash: str | None = "7d9f8c6b5",
         ) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": ns, "labels": {"app": "web"}}
    if template_hash:
        meta["labels"]["pod-template-hash"] = template_hash
    if owner:
        meta["ownerReferences"] = [{"kind": owner[0], "name": owner[1], "controller": True, "apiVersion": "apps/v1",
                                    "uid": "u-1"}]
    app = {"name": "app", "image": "meshfleet"}
    spec: dict[str, Any] = {"containers": [app]}
    if proxy:
        sidecar: dict[str, Any] = {"name": PROXY_CONTAINER, "image": "meshfleet", "restartPolicy": "Always"}
        if admin_port is not None:
            sidecar["ports"] = [{"name": "meshfleet-in", "containerPort": 4143},
                                {"name": ADMIN_PORT_NAME, "containerPort": admin_port}]
        if as_init:
            spec["initContainers"] = [sidecar]
        else:
            spec["containers"] = [app, sidecar]
    status: dict[str, Any] = {"phase": phase}
    if ip:
        status["podIP"] = ip
    return {"metadata": meta, "spec": spec, "status": status}


def test_a_meshed_pod_of_a_deployment_is_scraped_at_its_admin_port_with_the_dashboard_labels() -> None:
    target = pod_target(_pod(admin_port=14191))
    assert target is not None
    assert target.address == "10.100.0.7:14191"
    assert target.labels == {"namespace": "shop", "pod": "web-7d9f8c6b5-abcde", "deployment": "web"}


def test_the_proxy_as_an_ordinary_container_and_without_a_named_port_is_found_at_the_default_port() -> None:
    target = pod_target(_pod(as_init=False, admin_port=None))
    assert target is not None
    assert target.address == f"10.100.0.7:{DEFAULT_ADMIN_PORT}"


@pytest.mark.parametrize("pod", [
    _pod(proxy=False),
    _pod(phase="Pending"),
    _pod(phase="Succeeded"),
    _pod(ip=None),
], ids=["not meshed", "pending", "finished", "no pod IP yet"])
def test_pods_without_a_running_proxy_are_not_targets(pod: dict[str, Any]) -> None:
    assert pod_target(pod) is None


def test_an_ipv6_pod_address_is_bracketed() -> None:
    target = pod_target(_pod(ip="fd00::7"))
    assert target is not None
    assert target.address == "[fd00::7]:4191"


@pytest.mark.parametrize(("owner", "template_hash", "expected"), [
    (("ReplicaSet", "api-v2-5f6b7c8d9"), "5f6b7c8d9", "api-v2"),
    (("ReplicaSet", "handmade"), None, None),
    (("ReplicaSet", "handmade"), "5f6b7c8d9", None),
    (("StatefulSet", "db"), None, None),
    (None, None, None),
], ids=["deployment with dashes", "bare replicaset", "hash not in owner name", "statefulset", "bare pod"])
def test_the_deployment_comes_from_the_replicaset_name_minus_the_template_hash(
        owner: tuple[str, str] | None, template_hash: str | None, expected: str | None) -> None:
    meta = _pod(owner=owner, template_hash=template_hash)["metadata"]
    assert deployment_of(meta) == expected
    target = pod_target(_pod(owner=owner, template_hash=template_hash))
    assert target is not None
    assert ("deployment" in target.labels) == (expected is not None)


def test_the_target_file_has_one_group_per_meshed_running_pod_in_a_stable_order() -> None:
    pods = {"kind": "PodList", "items": [
        _pod("web-7d9f8c6b5-zzzzz", ip="10.100.0.9"),
        _pod("lonely", proxy=False),
        _pod("web-7d9f8c6b5-aaaaa", ip="10.100.0.8"),
        _pod("cache-0", ns="data", owner=("StatefulSet", "cache"), template_hash=None, ip="10.100.0.3"),
    ]}
    groups = json.loads(targets_document(scrape_targets(pods)))
    assert groups == [
        {"targets": ["10.100.0.3:4191"], "labels": {"namespace": "data", "pod": "cache-0"}},
        {"targets": ["10.100.0.8:4191"],
         "labels": {"namespace": "shop", "pod": "web-7d9f8c6b5-aaaaa", "deployment": "web"}},
        {"targets": ["10.100.0.9:4191"],
         "labels": {"namespace": "shop", "pod": "web-7d9f8c6b5-zzzzz", "deployment": "web"}},
    ]
    reordered = {"kind": "PodList", "items": list(reversed(pods["items"]))}
    assert targets_document(scrape_targets(reordered)) == targets_document(scrape_targets(pods))


def test_the_names_match_what_the_injector_writes() -> None:
    from mesh.control.destination import PROXY_CONTAINER as INJECTED_NAME
    from mesh.manifests._params import PROXY_ADMIN_PORT

    assert PROXY_CONTAINER == INJECTED_NAME
    assert DEFAULT_ADMIN_PORT == PROXY_ADMIN_PORT


def test_ports_are_fixed_per_cluster_index_and_prometheus_listens_on_loopback(tmp_path: Path) -> None:
    assert [preferred_port(i) for i in range(3)] == [19090, 19091, 19092]
    files = PrometheusFiles(tmp_path / "prometheus")
    argv = prometheus_command(Path("/usr/bin/prometheus"), files, 19091)
    assert "--web.listen-address=127.0.0.1:19091" in argv
    assert f"--storage.tsdb.path={files.data}" in argv
    loop = discovery_command(6443, tmp_path / "ca.crt", tmp_path / "admin.crt", tmp_path / "admin.key", files)
    assert "--apiserver=https://127.0.0.1:6443" in loop
    assert f"--out={files.targets}" in loop


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool is missing (Debian package prometheus)")
def test_the_configuration_is_one_prometheus_accepts(tmp_path: Path) -> None:
    files = PrometheusFiles(tmp_path)
    files.config.write_text(config_yaml(files))
    files.targets.write_text(targets_document(scrape_targets({"items": [_pod()]})))
    done = subprocess.run(["promtool", "check", "config", str(files.config)], capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


def _record(port: int | None) -> ClusterRecord:
    return ClusterRecord("east", 0, Ports(1, 2, 3, 4, 5),
                         (ProcessRecord("prometheus", 42, 7, "/tmp/p.log"),), 1.0, port)


def test_the_fleet_record_keeps_the_prometheus_port_and_reads_records_without_one(tmp_path: Path) -> None:
    state = FleetState(tmp_path)
    state.clusters = {"east": _record(19090)}
    state.save()
    again = FleetState.load(tmp_path)
    assert again.clusters["east"].prometheus_url == "http://127.0.0.1:19090"
    state.clusters = {"east": _record(None)}
    state.save()
    assert "prometheusPort" not in state.file.read_text()
    assert FleetState.load(tmp_path).clusters["east"].prometheus_url is None


def test_a_port_held_by_a_listener_is_not_free_but_one_left_in_time_wait_is() -> None:
    import socket
    import time

    with socket.socket() as server:
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        port = server.getsockname()[1]
        assert not can_listen(port)
        client = socket.create_connection(("127.0.0.1", port))
        conn, _ = server.accept()
        conn.close()  # the server side closes first, so its end of the connection waits in TIME-WAIT
        time.sleep(0.05)
        client.close()
    assert can_listen(port)
