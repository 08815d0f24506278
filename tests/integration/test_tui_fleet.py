"""The dashboard's default data path on a real local cluster: its own Prometheus, real proxies.

A local cluster gets its Prometheus the way ``meshfleet local up`` starts one (discovery loop
from the cluster's pods, then ``/usr/bin/prometheus``).  The pods are two Deployments whose
meshfleet proxy runs here as a real ``meshfleet proxy`` process on loopback: no podlet runs
them, so the test marks each pod Running at 127.0.0.1 itself, with the proxy's admin port as
the pod's ``meshfleet-admin`` port.  Under steady load through the pair (one response in five
a 500, latencies spread over several buckets), ``meshfleet tui --once --format json`` must
report what PromQL, written here independently and asked of the same Prometheus, says:

- RPS and success rate within 1 % (relative) of the PromQL answers,
- p99 within 2 % (the dashboard computes it from summed buckets itself),

each compared with the PromQL answers taken just before and just after the dashboard ran
(a scrape may land in between, so the dashboard's figure must lie within their range widened
by that tolerance).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import shutil
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from bench.proxy.pair import MeshfleetPair, start_meshfleet_pair
from bench.proxy.procs import ProcessSet
from fleet.local.fleet import LocalFleet
from fleet.local.prometheus import ADMIN_PORT_NAME, JOB, PROMETHEUS_BINARY, PROXY_CONTAINER
from tests.conftest import RunningFleet
from tests.integration.test_proxy_prometheus import _Load

pytestmark = [
    pytest.mark.cluster,
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which(str(PROMETHEUS_BINARY)) is None,
                       reason=f"{PROMETHEUS_BINARY} is missing (Debian package prometheus)"),
]

NS = "shop"
UNSCHEDULED = "meshfleet-test-nobody"  # no scheduler serves it, so the pods stay where the test puts them
RPS_TOLERANCE = 0.01
SUCCESS_TOLERANCE = 0.01
P99_TOLERANCE = 0.02
FAIL_EVERY = 5  # one response in five is a 500
DELAYS_S = (0.004, 0.015, 0.035, 0.080)  # spread over the (3,5], (10,20], (30,40], (50,100] ms buckets


class _MixedBackend(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    counter = itertools.count()
    lock = threading.Lock()

    def do_GET(self) -> None:  # noqa: N802
        with self.lock:
            n = next(self.counter)
        time.sleep(DELAYS_S[n % len(DELAYS_S)])
        body = b"mixed\n"
        self.send_response(500 if n % FAIL_EVERY == FAIL_EVERY - 1 else 200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MeshfleetPair]:
    tmp_path = tmp_path_factory.mktemp("pair")
    server = ThreadingHTTPServer(("127.0.0.1", 0), _MixedBackend)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with ProcessSet(tmp_path) as procs:
            yield start_meshfleet_pair(procs, tmp_path, int(server.server_address[1]))
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def _deployment(name: str, admin_port: int) -> dict[str, Any]:
    proxy = {"name": PROXY_CONTAINER, "image": "meshfleet", "restartPolicy": "Always",
             "ports": [{"name": ADMIN_PORT_NAME, "containerPort": admin_port}]}
    return {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": NS},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": name}},
                 "template": {"metadata": {"labels": {"app": name}},
                              "spec": {"schedulerName": UNSCHEDULED, "initContainers": [proxy],
                                       "containers": [{"name": "app", "image": "meshfleet"}]}}},
    }


def _wait(what: str, probe: Any, limit: float = 60.0) -> Any:
    deadline = time.monotonic() + limit
    last: Any = None
    while True:
        try:
            value = probe()
        except (OSError, ValueError, KeyError, IndexError) as e:
            value, last = None, e
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {limit:.0f}s waiting for {what} (last error: {last!r})")
        time.sleep(0.5)


@pytest.fixture(scope="module")
def meshed_pods(local_fleet: RunningFleet, pair: MeshfleetPair) -> Iterator[tuple[str, dict[str, str]]]:
    """(cluster, {deployment: pod name}): pods whose proxies are the pair, as the cluster sees them."""
    from kubernetes import client

    cluster = sorted(local_fleet.clusters)[0]
    api = local_fleet.api_client(cluster)
    core, apps = client.CoreV1Api(api), client.AppsV1Api(api)
    core.create_namespace({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}})
    try:
        pods: dict[str, str] = {}
        for name, port in (("web", pair.server_admin_port), ("client", pair.client_admin_port)):
            apps.create_namespaced_deployment(NS, _deployment(name, port))
            pod = _wait(f"the pod of deployment {name}",
                        lambda n=name: core.list_namespaced_pod(NS, label_selector=f"app={n}").items[0])
            core.patch_namespaced_pod_status(pod.metadata.name, NS, {"status": {
                "phase": "Running", "podIP": "127.0.0.1", "podIPs": [{"ip": "127.0.0.1"}]}})
            pods[name] = pod.metadata.name
        yield cluster, pods
    finally:
        core.delete_namespace(NS)
        api.close()


@pytest.fixture(scope="module")
def cluster_prometheus(local_fleet: RunningFleet, meshed_pods: tuple[str, dict[str, str]]) -> Iterator[str]:
    cluster, _ = meshed_pods
    fleet = LocalFleet(local_fleet.state_dir)
    try:
        yield asyncio.run(fleet.add_prometheus(cluster))
    finally:
        asyncio.run(LocalFleet(local_fleet.state_dir).remove_prometheus(cluster))


def _query(base: str, promql: str) -> list[dict[str, Any]]:
    url = f"{base}/api/v1/query?" + urllib.parse.urlencode({"query": promql})
    with urllib.request.urlopen(url, timeout=5) as resp:  # noqa: S310 - loopback only
        doc = json.load(resp)
    assert doc["status"] == "success", doc
    result: list[dict[str, Any]] = doc["data"]["result"]
    return result


def _scalar(base: str, promql: str) -> float:
    (item,) = _query(base, promql)
    return float(item["value"][1])


# The dashboard's overview, asked directly: inbound traffic of the whole cluster over one minute.
_IN = 'direction="inbound"'
DIRECT = {
    "rps": f"sum(rate(response_total{{{_IN}}}[1m]))",
    "successRate": f'sum(rate(response_total{{{_IN},classification="success"}}[1m])) / '
                   f"sum(rate(response_total{{{_IN}}}[1m]))",
    "p99": f"histogram_quantile(0.99, sum by (le) (rate(response_latency_ms_bucket{{{_IN}}}[1m])))",
}
TOLERANCE = {"rps": RPS_TOLERANCE, "successRate": SUCCESS_TOLERANCE, "p99": P99_TOLERANCE}


def _direct(base: str) -> dict[str, float]:
    return {k: _scalar(base, q) for k, q in DIRECT.items()}


def _tui_once(status_file: Path) -> dict[str, Any]:
    done = subprocess.run([sys.executable, "-m", "fleet.cli", "tui", "--once", "--format", "json",
                           "--status", str(status_file)], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    doc: dict[str, Any] = json.loads(done.stdout)
    return doc


def _status_document(path: Path, cluster: str, prometheus: str) -> Path:
    path.write_text(json.dumps({
        "generatedAt": "2026-01-01T00:00:00Z", "anchors": [], "rotation": {"phase": None},
        "clusters": [{"name": cluster, "reachable": True, "state": "Ready", "targetRevision": "r1",
                      "appliedRevision": "r1", "controlPlaneReady": True, "meshedPods": 2, "totalPods": 2,
                      "prometheusURL": prometheus, "proxyMetricsURLs": []}],
    }))
    return path


def test_the_cluster_prometheus_finds_meshed_pods_with_the_dashboard_labels(
        cluster_prometheus: str, meshed_pods: tuple[str, dict[str, str]], pair: MeshfleetPair) -> None:
    _, pods = meshed_pods
    targets = _wait("both proxies scraped", lambda: (
        r if len(r := _query(cluster_prometheus, f'up{{job="{JOB}"}} == 1')) == 2 else None))
    seen = {(t["metric"]["namespace"], t["metric"]["deployment"], t["metric"]["pod"], t["metric"]["instance"])
            for t in targets}
    assert seen == {(NS, "web", pods["web"], f"127.0.0.1:{pair.server_admin_port}"),
                    (NS, "client", pods["client"], f"127.0.0.1:{pair.client_admin_port}")}


def test_tui_once_json_matches_promql_under_load(
        cluster_prometheus: str, meshed_pods: tuple[str, dict[str, str]], pair: MeshfleetPair,
        tmp_path: Path) -> None:
    cluster, _ = meshed_pods
    status = _status_document(tmp_path / "status.json", cluster, cluster_prometheus)
    _wait("both proxies scraped", lambda: _scalar(cluster_prometheus, f'count(up{{job="{JOB}"}} == 1)') == 2)
    with _Load(pair.outbound_port) as load:
        # Six scrapes (5 s apart) of traffic inside the one-minute window before comparing.
        _wait("scrapes under load", lambda: _scalar(
            cluster_prometheus, f'min(count_over_time(request_total{{{_IN}}}[1m]))') >= 6, limit=90)
        before = _direct(cluster_prometheus)
        doc = _tui_once(status)
        after = _direct(cluster_prometheus)
    (row,) = doc["clusters"]
    assert row["name"] == cluster
    assert row["metricsSource"] == "prometheus"
    assert row["metricsError"] is None
    got = {"rps": row["rps"], "successRate": row["successRate"], "p99": row["latencyMs"]["p99"]}
    for key, value in got.items():
        low, high = sorted((before[key], after[key]))
        tol = TOLERANCE[key]
        assert low * (1 - tol) <= value <= high * (1 + tol), \
            f"{key}: dashboard {value}, PromQL {before[key]} before and {after[key]} after (tolerance {tol:.0%})"
    # And the figures are the traffic's own: one response in five failed.
    assert load.statuses
    client_success = load.statuses.count(200) / len(load.statuses)
    assert abs(client_success - (FAIL_EVERY - 1) / FAIL_EVERY) < 0.02
    assert abs(got["successRate"] - client_success) < 0.05


def test_local_up_runs_a_prometheus_per_cluster_and_down_stops_it(tmp_path: Path) -> None:
    from fleet.local import process

    fleet = LocalFleet(tmp_path / "state", prometheus=True)
    try:
        (row,) = asyncio.run(fleet.up(("delta",)))
        assert row.ready
        assert {"prometheus", "prometheus-targets"} <= set(row.pids)
        assert row.prometheus is not None
        assert row.prometheus.startswith("http://127.0.0.1:")
        # Its configuration is in force: the proxies' job exists, with no target while no pod runs.
        with urllib.request.urlopen(f"{row.prometheus}/api/v1/targets", timeout=5) as r:  # noqa: S310 - loopback
            assert json.load(r)["data"]["activeTargets"] == []
        with urllib.request.urlopen(f"{row.prometheus}/api/v1/status/config", timeout=5) as r:  # noqa: S310
            assert f"job_name: {JOB}" in json.load(r)["data"]["yaml"]
        # Another shell sees it in the record.
        (again,) = asyncio.run(LocalFleet(tmp_path / "state").status_async())
        assert again.prometheus == row.prometheus
        assert again.ready
    finally:
        procs = LocalFleet(tmp_path / "state").processes()
        asyncio.run(LocalFleet(tmp_path / "state").down())
    assert [p.component for p in procs if p.component.startswith("prometheus")]
    assert not [p for p in procs if process.alive(p)]
