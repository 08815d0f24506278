import asyncio
import os
import stat
from pathlib import Path

import pytest

from fleet.cli import main
from fleet.local.binaries import BinarySet
from fleet.local.errors import ComponentStartError
from fleet.local.fleet import LocalFleet


def _script(path: Path, body: str) -> Path:
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def test_a_component_that_exits_is_named_with_its_last_log_lines_and_nothing_is_left(tmp_path: Path) -> None:
    broken = _script(tmp_path / "etcd", 'for i in $(seq 1 25); do echo "etcd line $i"; done\nexit 3\n')
    never = _script(tmp_path / "never", "sleep 600\n")
    bins = BinarySet(broken, never, never, never)
    fleet = LocalFleet(tmp_path / "state")
    with pytest.raises(ComponentStartError) as e:
        asyncio.run(fleet.up(("east",), binaries=bins))
    msg = str(e.value)
    assert "cluster east: etcd exited during start-up" in msg
    assert "etcd line 25" in msg
    assert "etcd line 6\n" in msg
    assert "etcd line 5\n" not in msg  # only the last 20 lines
    assert LocalFleet(tmp_path / "state").state.clusters == {}
    # No process of ours is left: the fake apiserver was never started, and nothing sleeps on.
    leftover = [p for p in Path("/proc").iterdir() if p.name.isdigit() and _cmdline(p).startswith(str(never))]
    assert leftover == []


FAKE_ETCD = """import http.server, sys
port = int([a for a in sys.argv if a.startswith("--listen-client-urls=")][0].rsplit(":", 1)[1])
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200); self.end_headers(); self.wfile.write(b'{"health":"true"}')
    def log_message(self, *a):
        pass
http.server.HTTPServer(("127.0.0.1", port), H).serve_forever()
"""


def test_when_a_later_component_fails_the_ones_already_started_are_stopped(tmp_path: Path) -> None:
    import sys

    (tmp_path / "fake_etcd.py").write_text(FAKE_ETCD)
    etcd = _script(tmp_path / "etcd", f'exec {sys.executable} {tmp_path / "fake_etcd.py"} "$@"\n')
    api = _script(tmp_path / "kube-apiserver", 'echo "E0101 bad flag --nope" >&2\nexit 1\n')
    fleet = LocalFleet(tmp_path / "state")
    with pytest.raises(ComponentStartError) as e:
        asyncio.run(fleet.up(("west",), binaries=BinarySet(etcd, api, api, api)))
    assert e.value.component == "kube-apiserver"
    assert e.value.cluster == "west"
    assert "bad flag --nope" in str(e.value)
    leftover = [p for p in Path("/proc").iterdir() if p.name.isdigit() and "fake_etcd.py" in _cmdline(p)
                and str(tmp_path) in _cmdline(p)]
    assert leftover == []


def _cmdline(p: Path) -> str:
    try:
        return (p / "cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


@pytest.mark.parametrize("count", ["0", "-1", "three"])
def test_bad_cluster_count_is_a_usage_error(count: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as e:
        main(["local", "up", "--clusters", count])
    assert e.value.code == 2
    assert "--clusters" in capsys.readouterr().err


def test_no_go_toolchain_says_what_to_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from fleet.local import binaries
    from fleet.local.errors import ToolchainError

    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("MESHFLEET_BIN_DIR", raising=False)
    with pytest.raises(ToolchainError, match="install Go"):
        binaries.ensure_binaries(lambda _m: None)
    assert os.environ["PATH"] == str(tmp_path)
