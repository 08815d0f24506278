"""The injection patch: golden files for the shapes that matter, and the rules around them.

Golden files live in testdata/*.golden.json; regenerate them after an
intended change with MESHFLEET_UPDATE_GOLDEN=1 and review the diff.
"""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path
from typing import Any

import pytest

from mesh.control.injector import InjectorConfig, compute_injection, is_injected, parse_config
from mesh.manifests import MeshParams, proxy_settings

TESTDATA = Path(__file__).parent / "testdata"
UPDATE = os.environ.get("MESHFLEET_UPDATE_GOLDEN") == "1"


def config() -> InjectorConfig:
    # The configuration exactly as the mesh renders it into the proxy-config ConfigMap.
    params = MeshParams(cluster_name="alpha", version="0.1.0", trust_bundle_pem=b"-----BEGIN CERTIFICATE-----\n")
    return parse_config(json.loads(json.dumps(proxy_settings(params))), "proxy-config")


def pod(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"generateName": "api-", "labels": {"app": "api"}},
        "spec": {
            "serviceAccountName": "api",
            "containers": [{"name": "app", "image": "example/api:1", "ports": [{"containerPort": 8080}]}],
        },
    }
    for key, value in overrides.items():
        section, _, field = key.partition("__")
        base[section][field] = value
    return base


ENABLED_NS = {"metadata": {"name": "shop", "labels": {"meshfleet.io/inject": "enabled"}}}


def apply_patch(doc: dict[str, Any], patch: tuple[dict[str, Any], ...]) -> dict[str, Any]:
    """A small JSON-patch 'add' applier, enough to check what the API server would store."""
    out = copy.deepcopy(doc)
    for op in patch:
        assert op["op"] == "add"
        parts = [p.replace("~1", "/").replace("~0", "~") for p in op["path"].split("/")[1:]]
        target: Any = out
        for p in parts[:-1]:
            target = target[int(p)] if isinstance(target, list) else target[p]
        last = parts[-1]
        if isinstance(target, list):
            if last == "-":
                target.append(op["value"])
            else:
                target.insert(int(last), op["value"])
        else:
            assert last not in target, f"add over an existing {op['path']}"
            target[last] = op["value"]
    return out


def check_golden(name: str, value: Any) -> None:
    path = TESTDATA / f"{name}.golden.json"
    text = json.dumps(value, indent=2, sort_keys=True) + "\n"
    if UPDATE:
        path.write_text(text)
    assert path.exists(), f"{path} missing: run with MESHFLEET_UPDATE_GOLDEN=1"
    assert text == path.read_text(), f"{path.name} differs; regenerate with MESHFLEET_UPDATE_GOLDEN=1 if intended"


def test_golden_plain_pod_in_an_enabled_namespace() -> None:
    result = compute_injection(pod(), ENABLED_NS, "shop", config())
    assert result.skipped is None
    assert result.warnings == ()
    check_golden("plain-pod", list(result.patch))


def test_golden_pod_with_init_containers_volumes_annotations_and_overrides() -> None:
    p = pod(
        metadata__annotations={
            "meshfleet.io/inject": "enabled",
            "config.meshfleet.io/skip-inbound-ports": "9000,9100-9102",
            "config.meshfleet.io/skip-outbound-ports": "5432",
            "config.meshfleet.io/opaque-ports": "3306",
            "config.meshfleet.io/proxy-log-level": "debug",
            "config.meshfleet.io/proxy-cpu-limit": "500m",
            "config.meshfleet.io/proxy-memory-request": "32Mi",
            "config.meshfleet.io/default-inbound-policy": "all-authenticated",
        },
        spec__initContainers=[{"name": "migrate", "image": "example/migrate:1"}],
        spec__volumes=[{"name": "data", "emptyDir": {}}],
    )
    result = compute_injection(p, {"metadata": {"name": "shop"}}, "shop", config())
    assert result.skipped is None
    check_golden("pod-with-overrides", list(result.patch))


def test_the_patched_pod_is_a_native_sidecar_pod_and_passes_unchanged_a_second_time() -> None:
    p = pod(spec__initContainers=[{"name": "migrate", "image": "example/migrate:1"}])
    result = compute_injection(p, ENABLED_NS, "shop", config())
    meshed = apply_patch(p, result.patch)
    inits = meshed["spec"]["initContainers"]
    assert [c["name"] for c in inits] == ["meshfleet-init", "meshfleet-proxy", "migrate"]
    proxy = inits[1]
    assert proxy["restartPolicy"] == "Always"
    env = {e["name"]: e.get("value") for e in proxy["env"]}
    identity = "api.shop.serviceaccount.identity.meshfleet.cluster.local"
    assert env["MESHFLEET_PROXY_IDENTITY_NAME"] == identity
    assert env["MESHFLEET_PROXY_DESTINATION_ADDR"] == "destination.meshfleet.svc.cluster.local:8086"
    token = next(v for v in meshed["spec"]["volumes"] if v["name"] == "meshfleet-token")
    assert token["projected"]["sources"][0]["serviceAccountToken"]["audience"] == "identity.meshfleet.io"
    identity_dir = next(v for v in meshed["spec"]["volumes"] if v["name"] == "meshfleet-identity")
    assert identity_dir["emptyDir"]["medium"] == "Memory"
    assert meshed["metadata"]["annotations"]["meshfleet.io/identity"] == identity
    assert meshed["spec"]["containers"] == p["spec"]["containers"]  # the application is untouched
    assert is_injected(meshed)
    again = compute_injection(meshed, ENABLED_NS, "shop", config())
    assert again.patch == ()
    assert again.skipped == "already injected"


@pytest.mark.parametrize(
    ("pod_ann", "ns_labels", "ns", "injected"),
    [
        ({}, {"meshfleet.io/inject": "enabled"}, "shop", True),
        ({"meshfleet.io/inject": "enabled"}, {}, "shop", True),
        ({"meshfleet.io/inject": "disabled"}, {"meshfleet.io/inject": "enabled"}, "shop", False),
        ({}, {}, "shop", False),
        ({"meshfleet.io/inject": "enabled"}, {}, "meshfleet", False),
        ({"meshfleet.io/inject": "enabled"}, {"meshfleet.io/inject": "enabled"}, "kube-system", False),
    ],
)
def test_who_gets_meshed(pod_ann: dict[str, str], ns_labels: dict[str, str], ns: str, injected: bool) -> None:
    result = compute_injection(
        pod(metadata__annotations=pod_ann), {"metadata": {"name": ns, "labels": ns_labels}}, ns, config()
    )
    assert bool(result.patch) is injected
    assert (result.skipped is None) is injected


def test_host_network_pods_are_left_alone() -> None:
    p = pod(spec__hostNetwork=True)
    assert compute_injection(p, ENABLED_NS, "shop", config()).skipped == "host-network pods cannot be intercepted"


def test_unreadable_overrides_are_ignored_with_a_warning() -> None:
    p = pod(
        metadata__annotations={
            "config.meshfleet.io/skip-inbound-ports": "http",
            "config.meshfleet.io/proxy-memory-limit": "lots",
            "config.meshfleet.io/default-inbound-policy": "maybe",
            "config.meshfleet.io/trace-collector": "http://collector:4318",
        }
    )
    result = compute_injection(p, ENABLED_NS, "shop", config())
    assert result.patch
    assert len(result.warnings) == 4
    assert any("trace-collector='http://collector:4318' ignored: not a host:port" in w for w in result.warnings)
    assert any("skip-inbound-ports='http'" in w for w in result.warnings)
    meshed = apply_patch(p, result.patch)
    proxy = meshed["spec"]["initContainers"][1]
    env = {e["name"]: e.get("value") for e in proxy["env"]}
    assert env["MESHFLEET_PROXY_DEFAULT_INBOUND_POLICY"] == "all-unauthenticated"
    assert proxy["resources"]["limits"]["memory"] == "256Mi"


def test_namespace_annotations_override_when_the_pod_says_nothing() -> None:
    ns = {
        "metadata": {
            "name": "shop",
            "labels": {"meshfleet.io/inject": "enabled"},
            "annotations": {"config.meshfleet.io/opaque-ports": "6379"},
        }
    }
    meshed = apply_patch(pod(), compute_injection(pod(), ns, "shop", config()).patch)
    env = {e["name"]: e.get("value") for e in meshed["spec"]["initContainers"][1]["env"]}
    assert env["MESHFLEET_PROXY_OPAQUE_PORTS"] == "6379"
    assert "MESHFLEET_PROXY_TRACE_COLLECTOR" not in env  # no collector named: the proxy records no spans


def test_a_trace_collector_annotation_reaches_the_proxy() -> None:
    ns = {
        "metadata": {
            "name": "shop",
            "labels": {"meshfleet.io/inject": "enabled"},
            "annotations": {"config.meshfleet.io/trace-collector": "collector.tracing.svc.cluster.local:4318"},
        }
    }
    meshed = apply_patch(pod(), compute_injection(pod(), ns, "shop", config()).patch)
    env = {e["name"]: e.get("value") for e in meshed["spec"]["initContainers"][1]["env"]}
    assert env["MESHFLEET_PROXY_TRACE_COLLECTOR"] == "collector.tracing.svc.cluster.local:4318"
