"""Two pods in network namespaces, each with its proxy and real iptables interception.

Pod A's application calls pod B's IP; the request must travel A's outbound
proxy -> mTLS -> B's inbound proxy -> B's application, with identities in
both proxies' metrics. Plaintext sent straight to B's inbound port is refused.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.unit.proxy.certs import make_ca, make_identity

pytestmark = [pytest.mark.root, pytest.mark.netns, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
PY = sys.executable
APP_PY = shutil.which("python3", path="/usr/bin:/bin") or "python3"
SUBNET = "10.231.{n}.{host}"
APP_UID = 65534  # the application runs as nobody so the proxy-uid exclusion does not catch it

PROXY_MAIN = "import sys; from mesh.proxy import run_proxy; sys.exit(run_proxy(sys.argv[1:]))"
INIT_MAIN = "import sys; from mesh.proxy import run_proxy_init; sys.exit(run_proxy_init(sys.argv[1:]))"
BACKEND = """
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        body = ("pod-b says hello to " + self.path).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
http.server.ThreadingHTTPServer(("0.0.0.0", 8080), H).serve_forever()
"""
FETCH = """
import sys, urllib.request, urllib.error
try:
    r = urllib.request.urlopen(sys.argv[1], timeout=10)
    print(r.status); sys.stdout.write(r.read().decode())
except urllib.error.HTTPError as e:
    print(e.code); sys.stdout.write(e.headers.get("meshfleet-proxy-error", ""))
"""


@dataclass
class Pods:
    a: str
    b: str
    a_ip: str
    b_ip: str
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def run(self, ns: str, *cmd: str, uid: int | None = None, check: bool = True) -> str:
        # Enter the namespace as root, then drop to ``uid`` inside it.
        drop = ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups"] if uid else []
        full = ["ip", "netns", "exec", ns, *drop, *cmd]
        res = subprocess.run(full, cwd="/", capture_output=True, text=True, timeout=30, env=_env(), check=False)
        if check and res.returncode != 0:
            raise AssertionError(f"{' '.join(full)} failed: {res.stderr.strip()}")
        return res.stdout

    def start(self, ns: str, *cmd: str, log: Path) -> None:
        with log.open("wb") as out:  # the child keeps its own copy of the descriptor
            self.procs.append(
                subprocess.Popen(["ip", "netns", "exec", ns, *cmd], cwd=REPO, stdout=out, stderr=out, env=_env())
            )

    def fetch(self, ns: str, url: str, uid: int | None = None) -> tuple[int, str]:
        # The system interpreter: the application user cannot read root's home, where the venv's lives.
        out = self.run(ns, APP_PY if uid else PY, "-c", FETCH, url, uid=uid)
        status, _, body = out.partition("\n")
        return int(status), body


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MESHFLEET_")}
    env["PYTHONPATH"] = str(REPO)
    return env


def _sh(*cmd: str) -> None:
    subprocess.run(cmd, check=True, capture_output=True, timeout=30)


@pytest.fixture
def pods(tmp_path: Path) -> Iterator[Pods]:
    if os.geteuid() != 0:
        pytest.skip("needs root for network namespaces and iptables")
    for tool in ("ip", "iptables", "iptables-restore"):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} is not installed")
    tag = secrets.token_hex(3)
    n = secrets.randbelow(200) + 20
    p = Pods(f"mfp-a-{tag}", f"mfp-b-{tag}", SUBNET.format(n=n, host=1), SUBNET.format(n=n, host=2))
    veth_a, veth_b = f"mfa{tag}", f"mfb{tag}"
    try:
        _sh("ip", "netns", "add", p.a)
        _sh("ip", "netns", "add", p.b)
        _sh("ip", "link", "add", veth_a, "type", "veth", "peer", "name", veth_b)
        _sh("ip", "link", "set", veth_a, "netns", p.a)
        _sh("ip", "link", "set", veth_b, "netns", p.b)
        for ns, dev, ip in ((p.a, veth_a, p.a_ip), (p.b, veth_b, p.b_ip)):
            _sh("ip", "-n", ns, "addr", "add", f"{ip}/24", "dev", dev)
            _sh("ip", "-n", ns, "link", "set", dev, "up")
            _sh("ip", "-n", ns, "link", "set", "lo", "up")
        yield p
    finally:
        for proc in p.procs:
            proc.terminate()
        for proc in p.procs:
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for ns in (p.a, p.b):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=30)


def _wait_ready(pods: Pods, ns: str, logs: list[Path]) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            if pods.fetch(ns, "http://127.0.0.1:4191/ready")[0] == 200:
                return
        except (AssertionError, ValueError):
            pass
        time.sleep(0.2)
    raise AssertionError("proxy never became ready:\n" + "\n".join(log.read_text() for log in logs))


def _metric(text: str, name: str, **labels: str) -> float:
    total = 0.0
    for line in text.splitlines():
        m = re.match(rf"^{name}\{{(.*)\}} (\S+)$", line)
        if m and all(f'{k}="{v}"' in m.group(1) for k, v in labels.items()):
            total += float(m.group(2))
    return total


def test_pod_to_pod_through_both_proxies_over_mtls(pods: Pods, tmp_path: Path) -> None:
    anchor = make_ca("netns anchor")
    issuer = make_ca("netns issuer", anchor)
    ident_a = make_identity(tmp_path / "id-a", issuer, anchor, "app", "shop")
    ident_b = make_identity(tmp_path / "id-b", issuer, anchor, "web", "shop")
    services = tmp_path / "services.json"
    services.write_text(
        json.dumps(
            {
                "services": [
                    {
                        "name": "web.shop.svc.cluster.local:8080",
                        "namespace": "shop",
                        "service": "web",
                        "addresses": [f"{pods.b_ip}:8080"],
                        "endpoints": [{"address": f"{pods.b_ip}:8080", "identity": ident_b.name}],
                    }
                ]
            }
        )
    )
    for ns in (pods.a, pods.b):
        pods.run(ns, PY, "-c", INIT_MAIN, "--proxy-uid", "0")
        pods.run(ns, PY, "-c", INIT_MAIN, "--proxy-uid", "0")  # idempotent: a second run changes nothing
        rules = pods.run(ns, "iptables", "-t", "nat", "-S")
        assert rules.count("-A PREROUTING -j MESHFLEET_INBOUND") == 1
        assert rules.count("-A OUTPUT -j MESHFLEET_OUTPUT") == 1
        assert rules.count("--to-ports 4140") == 1

    pods.start(pods.b, PY, "-c", BACKEND, log=tmp_path / "backend.log")
    logs = []
    for ns, ident, extra in (
        (pods.b, ident_b, ["--default-inbound-policy", "all-authenticated"]),
        (pods.a, ident_a, ["--resolver-file", str(services)]),
    ):
        log = tmp_path / f"proxy-{ns}.log"
        logs.append(log)
        pods.start(
            ns,
            PY,
            "-c",
            PROXY_MAIN,
            "--identity-dir",
            str(ident.directory),
            "--trust-bundle",
            str(ident.bundle_path),
            "--log-level",
            "debug",
            *extra,
            log=log,
        )
    _wait_ready(pods, pods.a, logs)
    _wait_ready(pods, pods.b, logs)
    time.sleep(0.3)  # the backend binds while the proxies come up

    for _ in range(3):
        status, body = pods.fetch(pods.a, f"http://{pods.b_ip}:8080/orders", uid=APP_UID)
        if status == 200:
            break
        time.sleep(0.5)
    assert status == 200, body
    assert body == "pod-b says hello to /orders"

    a_metrics = pods.run(
        pods.a,
        PY,
        "-c",
        "import urllib.request as u; print(u.urlopen('http://127.0.0.1:4191/metrics').read().decode())",
    )
    b_metrics = pods.run(
        pods.b,
        PY,
        "-c",
        "import urllib.request as u; print(u.urlopen('http://127.0.0.1:4191/metrics').read().decode())",
    )
    assert _metric(a_metrics, "request_total", direction="outbound", tls="true", server_id=ident_b.name) >= 1
    assert _metric(b_metrics, "request_total", direction="inbound", tls="true", client_id=ident_a.name) >= 1

    # Root in pod A is excluded from interception, so this goes to B's inbound port as plaintext.
    status, error = pods.fetch(pods.a, f"http://{pods.b_ip}:4143/", uid=0)
    assert status == 403
    assert error == "unauthenticated"
