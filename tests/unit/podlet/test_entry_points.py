import asyncio
from pathlib import Path

import pytest

from fleet.local.podlet import netops
from fleet.local.podlet.agent import Podlet, PodletConfig
from fleet.local.podlet.cli import find_log
from fleet.local.podlet.errors import NotRootError, PodletError


def test_without_root_the_podlet_says_why_it_needs_root(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(netops, "is_root", lambda: False)
    podlet = Podlet(PodletConfig("east", "east-node-1", tmp_path, 6443, "10.200.0.0/16"), lambda _m: None)
    with pytest.raises(NotRootError, match="needs root.*network and mount namespaces"):
        asyncio.run(podlet.run(asyncio.Event()))
    assert list(tmp_path.iterdir()) == []  # nothing was created


def test_logs_are_found_by_namespace_pod_and_container(tmp_path: Path) -> None:
    d = tmp_path / "podlet" / "east-node-1" / "logs" / "shop" / "web-1"
    d.mkdir(parents=True)
    (d / "web.log").write_text("hello\n")
    assert find_log(tmp_path, "shop", "web-1", None) == d / "web.log"
    (d / "proxy.log").write_text("")
    with pytest.raises(PodletError, match=r"several containers \(proxy, web\)"):
        find_log(tmp_path, "shop", "web-1", None)
    assert find_log(tmp_path, "shop", "web-1", "proxy") == d / "proxy.log"
    with pytest.raises(PodletError, match="no container 'db'"):
        find_log(tmp_path, "shop", "web-1", "db")
    with pytest.raises(PodletError, match="no logs for pod shop/gone"):
        find_log(tmp_path, "shop", "gone", None)
