from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from mesh.proxy.errors import ResolverConfigError
from mesh.proxy.resolver import FileResolver, parse_services
from mesh.proxy.services import Endpoint, Resolution, Timeouts

WEB = {
    "name": "web.shop.svc.cluster.local:8080",
    "namespace": "shop",
    "service": "web",
    "addresses": ["10.96.0.10:8080"],
    "timeouts": {"request": 2.5, "connect": 0.5},
    "retry": {"limit": 3, "on": ["5xx", "connect-failure"], "per_try_timeout": 0.4},
    "endpoints": [
        {"address": "10.0.0.2:8080", "identity": "web.shop.serviceaccount.identity.mesh.local", "weight": 2},
        {"address": "[fd00::3]:8080", "proxy_port": 4143, "labels": {"pod": "web-1"}},
    ],
}


def test_lookup_by_name_cluster_ip_and_pod_address() -> None:
    table = parse_services({"services": [WEB]}, "svc.yaml")
    by_name = table.lookup("web.shop.svc.cluster.local:8080")
    assert by_name is not None
    assert by_name.service.namespace == "shop"
    assert by_name.service.timeouts == Timeouts(request=2.5, connect=0.5, idle=300.0)
    assert by_name.service.retry.limit == 3
    assert by_name.service.retry.per_try_timeout == 0.4
    assert by_name.endpoints[0] == Endpoint(
        "10.0.0.2", 8080, "web.shop.serviceaccount.identity.mesh.local", 2.0, None, ()
    )
    assert by_name.endpoints[1].host == "fd00::3"
    assert by_name.endpoints[1].labels == (("pod", "web-1"),)
    by_ip = table.lookup("10.96.0.10:8080")
    assert by_ip is not None
    assert by_ip.endpoints == by_name.endpoints
    by_pod = table.lookup("[fd00::3]:8080")
    assert by_pod is not None
    assert [e.host for e in by_pod.endpoints] == ["fd00::3"]
    assert table.lookup("db:5432") is None


@pytest.mark.parametrize(
    ("patch", "needle"),
    [
        ({"name": "no-port"}, "services[0].name"),
        ({"timeouts": {"request": -1}}, "services[0].timeouts.request"),
        ({"timeouts": {"reqest": 1}}, "reqest"),
        ({"retry": {"on": ["sometimes"]}}, "services[0].retry.on"),
        ({"endpoints": [{"address": "10.0.0.1"}]}, "services[0].endpoints[0].address"),
        ({"endpoints": [{"address": "10.0.0.1:1", "weight": "heavy"}]}, "endpoints[0].weight"),
        ({"colour": "blue"}, "colour"),
    ],
)
def test_errors_name_the_file_and_field(patch: dict[str, object], needle: str) -> None:
    with pytest.raises(ResolverConfigError, match="svc.yaml") as info:
        parse_services({"services": [{**WEB, **patch}]}, "svc.yaml")
    assert needle in str(info.value)


def test_file_resolver_pushes_changes_and_keeps_last_good(tmp_path: Path) -> None:
    path = tmp_path / "services.json"
    path.write_text(json.dumps({"services": [WEB]}))
    resolver = FileResolver(path)
    seen: list[Resolution | None] = []
    sub = resolver.resolve("web.shop.svc.cluster.local:8080", seen.append)
    assert len(seen) == 1
    assert seen[0] is not None

    changed = {**WEB, "endpoints": [{"address": "10.0.0.9:8080"}]}
    path.write_text(json.dumps({"services": [changed]}))
    os.utime(path, (1, 1))
    assert resolver.reload()
    assert seen[-1] is not None
    assert [e.host for e in seen[-1].endpoints] == ["10.0.0.9"]

    path.write_text("{not json")
    os.utime(path, (2, 2))
    assert not resolver.reload()
    assert len(seen) == 2  # the broken edit changed nothing

    path.write_text(json.dumps({"services": []}))
    os.utime(path, (3, 3))
    assert resolver.reload()
    assert seen[-1] is None
    sub.cancel()
    path.write_text(json.dumps({"services": [WEB]}))
    os.utime(path, (4, 4))
    resolver.reload()
    assert len(seen) == 3


def test_yaml_file_is_read(tmp_path: Path) -> None:
    path = tmp_path / "services.yaml"
    path.write_text("services:\n  - name: db:5432\n    opaque: true\n    endpoints:\n      - address: 10.1.1.1:5432\n")
    res = FileResolver(path).table.lookup("db:5432")
    assert res is not None
    assert res.service.opaque
