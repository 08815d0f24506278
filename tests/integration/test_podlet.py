"""The podlet makes pods of the local fleet really run: real apiservers, namespaces, iptables, processes."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from fleet.local.podlet.agent import default_node_name, node_dir
from fleet.local.podlet.api import Kube
from fleet.local.podlet.errors import NotFound
from fleet.local.podlet.records import cleanup_node
from fleet.local.state import FleetState

pytestmark = [pytest.mark.cluster, pytest.mark.root, pytest.mark.netns, pytest.mark.slow]

IMAGE = "ghcr.io/meshfleet/meshfleet:test"


@dataclass
class Podlets:
    state_dir: Path
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def cluster_dir(self, cluster: str) -> Path:
        return FleetState(self.state_dir).cluster_paths(cluster).root

    def node_dir(self, cluster: str) -> Path:
        return node_dir(self.cluster_dir(cluster), default_node_name(cluster))

    def start(self, cluster: str) -> None:
        argv = [sys.executable, "-m", "fleet.cli", "podlet", cluster, "--state-dir", str(self.state_dir)]
        log = (self.cluster_dir(cluster) / "logs" / "podlet.log").open("ab")
        self.procs[cluster] = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()

    def stop(self, cluster: str, sig: int = signal.SIGTERM) -> None:
        proc = self.procs.pop(cluster, None)
        if proc is None:
            return
        proc.send_signal(sig)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def kube(self, cluster: str) -> Kube:
        state = FleetState.load(self.state_dir)
        pki = state.cluster_paths(cluster).pki
        return Kube(state.clusters[cluster].api_url, pki.ca.cert, pki.pair("admin").cert, pki.pair("admin").key)


async def _wait_for(what: str, probe: Callable[[], Awaitable[Any]], limit: float = 60.0) -> Any:
    deadline = time.monotonic() + limit
    while True:
        value = await probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {limit:.0f}s waiting for {what}")
        await asyncio.sleep(0.3)


async def _node_ready(kube: Kube, node: str) -> bool:
    try:
        obj = await kube.get(f"/api/v1/nodes/{node}")
    except NotFound:
        return False
    return any(c["type"] == "Ready" and c["status"] == "True" for c in obj.get("status", {}).get("conditions", []))


@pytest.fixture(scope="module")
def podlets(local_fleet) -> Iterator[Podlets]:  # type: ignore[no-untyped-def]
    p = Podlets(local_fleet.state_dir)

    async def ready(cluster: str) -> None:
        async with p.kube(cluster) as kube:
            await _wait_for(f"node of {cluster} Ready", lambda: _node_ready(kube, default_node_name(cluster)), 90)

    try:
        for cluster in local_fleet.clusters:
            p.start(cluster)
        for cluster in local_fleet.clusters:
            asyncio.run(ready(cluster))
        yield p
    finally:
        for cluster in list(p.procs):
            p.stop(cluster)
        for cluster in local_fleet.clusters:  # whatever a failed test left: namespaces, mounts, veths, chains
            cleanup_node(p.node_dir(cluster))


@pytest.fixture
async def ns(podlets: Podlets) -> AsyncIterator[tuple[Kube, str]]:
    name = f"pl-{uuid.uuid4().hex[:6]}"
    cluster = next(iter(podlets_clusters(podlets)))
    async with podlets.kube(cluster) as kube:
        await kube.create("/api/v1/namespaces", {"metadata": {"name": name}})
        await _wait_for("the default ServiceAccount",
                        lambda: _exists(kube, f"/api/v1/namespaces/{name}/serviceaccounts/default"))
        try:
            yield kube, name
        finally:
            await kube.delete(f"/api/v1/namespaces/{name}")


def podlets_clusters(p: Podlets) -> list[str]:
    return sorted(p.procs, key=lambda c: FleetState.load(p.state_dir).clusters[c].index)


async def _exists(kube: Kube, path: str) -> bool:
    try:
        await kube.get(path)
        return True
    except NotFound:
        return False


def _demo(name: str, *args: str, **extra: Any) -> dict[str, Any]:
    ready = {"httpGet": {"path": "/healthz", "port": "http"}, "periodSeconds": 1}
    return {"name": name, "image": IMAGE, "args": ["demo-app", "--name", name, *args],
            "ports": [{"name": "http", "containerPort": 8080}], "readinessProbe": ready, **extra}


async def _pods(kube: Kube, ns: str, selector: str = "") -> list[dict[str, Any]]:
    params = {"labelSelector": selector} if selector else None
    return list((await kube.request("GET", f"/api/v1/namespaces/{ns}/pods", params=params))["items"])


async def _http(url: str, method: str = "GET") -> tuple[int, Any]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as s, s.request(method, url) as r:
        text = await r.text()
        try:
            return r.status, json.loads(text)
        except ValueError:
            return r.status, text


async def _running_pod(kube: Kube, ns: str, name: str, limit: float = 60) -> dict[str, Any]:
    async def check() -> dict[str, Any] | None:
        pod = await kube.get(f"/api/v1/namespaces/{ns}/pods/{name}")
        ready = [c for c in pod["status"].get("conditions", []) if c["type"] == "Ready"]
        return pod if ready and ready[0]["status"] == "True" else None
    return dict(await _wait_for(f"pod {name} Ready", check, limit))


async def _ready_slice_ips(kube: Kube, ns: str, svc: str) -> set[str]:
    slices = await kube.request("GET", f"/apis/discovery.k8s.io/v1/namespaces/{ns}/endpointslices",
                                params={"labelSelector": f"kubernetes.io/service-name={svc}"})
    return {a for sl in slices["items"] for ep in sl.get("endpoints") or []
            if (ep.get("conditions") or {}).get("ready") for a in ep["addresses"]}


def _pids_of(podlets: Podlets, cluster: str, uid: str) -> list[tuple[int, int]]:
    rec = json.loads((podlets.node_dir(cluster) / "pods" / uid / "record.json").read_text())
    return [tuple(p) for p in rec["pids"]]  # type: ignore[misc]


def _live_pids(podlets: Podlets, cluster: str, uid: str) -> list[tuple[int, int]]:
    try:
        return [p for p in _pids_of(podlets, cluster, uid) if _alive(*p)]
    except (OSError, ValueError):
        return []


def _alive(pid: int, ticks: int) -> bool:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    fields = raw[raw.rindex(")") + 2:].split()
    return fields[0] not in "ZX" and int(fields[19]) == ticks


def _netns() -> set[str]:
    return {line.split()[0] for line in subprocess.run(["ip", "netns", "list"], capture_output=True, text=True,
                                                       check=True).stdout.splitlines() if line.strip()}


async def _deploy_web(kube: Kube, ns: str, replicas: int = 3) -> None:
    await kube.create(f"/apis/apps/v1/namespaces/{ns}/deployments", {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [_demo(
                     "web", readinessProbe={"httpGet": {"path": "/healthz", "port": "http"}, "periodSeconds": 1,
                                            "failureThreshold": 1})]}}}})
    await kube.create(f"/api/v1/namespaces/{ns}/services", {"metadata": {"name": "web"}, "spec": {
        "selector": {"app": "web"}, "ports": [{"name": "http", "port": 80, "targetPort": "http"}]}})

    async def available() -> bool:
        d = await kube.get(f"/apis/apps/v1/namespaces/{ns}/deployments/web")
        return d.get("status", {}).get("availableReplicas") == replicas
    await _wait_for(f"{replicas} available replicas", available, 90)


# ---- the tests -------------------------------------------------------------------------------------


async def test_demo_app_deployment_is_available_and_reachable_by_pod_ip_cluster_ip_and_name(ns) -> None:  # type: ignore[no-untyped-def]
    kube, name = ns
    await _deploy_web(kube, name)
    pods = await _pods(kube, name, "app=web")
    ips = {p["status"]["podIP"] for p in pods}
    assert len(ips) == 3
    assert await _wait_for("3 ready endpoints", lambda: _ready_slice_ips_eq(kube, name, ips)) 
    cluster_ip = (await kube.get(f"/api/v1/namespaces/{name}/services/web"))["spec"]["clusterIP"]
    targets = [*(f"http://{ip}:8080/" for ip in sorted(ips)), f"http://{cluster_ip}/", "http://web/",
               f"http://web.{name}.svc.cluster.local/"]
    await kube.create(f"/api/v1/namespaces/{name}/pods", {"metadata": {"name": "client"}, "spec": {
        "containers": [_demo("client", *(a for t in targets for a in ("--downstream", t)))]}})
    client = await _running_pod(kube, name, "client")
    # The client pod calls every target from its own network namespace and reports what each answered.
    status, body = await _http(f"http://{client['status']['podIP']}:8080/")
    assert status == 200, body
    assert [d["service"] for d in body["downstream"]] == ["web"] * len(targets)
    answered_by = {d["host"] for d in body["downstream"][:3]}
    assert answered_by == {p["metadata"]["name"] for p in pods}


async def _ready_slice_ips_eq(kube: Kube, ns: str, ips: set[str]) -> bool:
    return await _ready_slice_ips(kube, ns, "web") == ips


async def test_failing_readiness_probe_takes_the_pod_out_of_the_endpointslice_and_back(ns) -> None:  # type: ignore[no-untyped-def]
    kube, name = ns
    await _deploy_web(kube, name, replicas=2)
    ip = sorted(p["status"]["podIP"] for p in await _pods(kube, name, "app=web"))[0]
    await _wait_for("2 ready endpoints", lambda: _count_ready(kube, name, 2))
    assert (await _http(f"http://{ip}:8080/healthz?healthy=false", "POST"))[0] == 503
    await _wait_for("the unready pod leaves the slice", lambda: _not_in(kube, name, ip), 30)
    assert len(await _ready_slice_ips(kube, name, "web")) == 1
    assert (await _http(f"http://{ip}:8080/healthz?healthy=true", "POST"))[0] == 200
    await _wait_for("the pod comes back", lambda: _count_ready(kube, name, 2), 30)
    assert ip in await _ready_slice_ips(kube, name, "web")


async def _count_ready(kube: Kube, ns: str, n: int) -> bool:
    return len(await _ready_slice_ips(kube, ns, "web")) == n


async def _not_in(kube: Kube, ns: str, ip: str) -> bool:
    return ip not in await _ready_slice_ips(kube, ns, "web")


async def test_projected_token_passes_token_review_and_secret_file_has_its_mode(ns, podlets) -> None:  # type: ignore[no-untyped-def]
    kube, name = ns
    cluster = podlets_clusters(podlets)[0]
    await kube.create(f"/api/v1/namespaces/{name}/secrets", {"metadata": {"name": "creds"},
                                                             "stringData": {"password": "s3cret"}})
    await kube.create(f"/api/v1/namespaces/{name}/pods", {"metadata": {"name": "tok"}, "spec": {
        "containers": [_demo("tok", volumeMounts=[{"name": "identity", "mountPath": "/var/run/meshfleet/identity"},
                                                  {"name": "creds", "mountPath": "/etc/creds", "readOnly": True}])],
        "volumes": [
            {"name": "identity", "projected": {"sources": [{"serviceAccountToken": {
                "audience": "identity.meshfleet.io", "expirationSeconds": 600, "path": "token"}}]}},
            {"name": "creds", "secret": {"secretName": "creds", "defaultMode": 0o400}},
        ]}})
    pod = await _running_pod(kube, name, "tok")
    pid = _pids_of(podlets, cluster, pod["metadata"]["uid"])[-1][0]

    def in_container(*cmd: str) -> str:
        return subprocess.run(["nsenter", "-t", str(pid), "-m", "--", *cmd], capture_output=True, text=True,
                              check=True).stdout.strip()

    token = in_container("cat", "/var/run/meshfleet/identity/token")
    assert in_container("stat", "-L", "-c", "%a", "/etc/creds/password") == "400"
    assert in_container("cat", "/etc/creds/password") == "s3cret"
    assert "token" not in in_container("sh", "-c", "ls /proc/1/root/var/run/meshfleet/identity 2>/dev/null || true")

    async def review(audience: str) -> dict[str, Any]:
        out = await kube.create("/apis/authentication.k8s.io/v1/tokenreviews", {
            "apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview",
            "spec": {"token": token, "audiences": [audience]}})
        return dict(out["status"])

    ok = await review("identity.meshfleet.io")
    assert ok.get("authenticated") is True
    assert ok["user"]["username"] == f"system:serviceaccount:{name}:default"
    assert (await review("another-audience")).get("authenticated") is not True


async def test_init_containers_run_in_order_and_a_native_sidecar_runs_before_the_app(ns, podlets) -> None:  # type: ignore[no-untyped-def]
    kube, name = ns
    cluster = podlets_clusters(podlets)[0]
    shared = [{"name": "order", "mountPath": "/order"}]

    def step(n: str, port: int, more: tuple[str, ...] = (), **extra: Any) -> dict[str, Any]:
        return {"name": n, "image": IMAGE, "volumeMounts": shared, **extra,
                "args": ["demo-app", "--name", n, "--port", str(port), "--announce", "/order/log", *more]}

    await kube.create(f"/api/v1/namespaces/{name}/pods", {"metadata": {"name": "ordered"}, "spec": {
        "initContainers": [step("first", 8081, more=("--run-for", "0.5")),
                           step("second", 8082, more=("--run-for", "0.2")),
                           step("sidecar", 8083, restartPolicy="Always", startupProbe={
                               "tcpSocket": {"port": 8083}, "periodSeconds": 1, "failureThreshold": 30})],
        "containers": [step("app", 8080)],
        "volumes": [{"name": "order", "emptyDir": {}}]}})
    pod = await _running_pod(kube, name, "ordered")
    log = podlets.node_dir(cluster) / "pods" / pod["metadata"]["uid"] / "empty" / "order" / "log"
    entries = await _wait_for("four start records", lambda: _lines(log, 4), 10)
    assert [e[0] for e in entries] == ["first", "second", "sidecar", "app"]
    assert [int(e[1]) for e in entries] == sorted(int(e[1]) for e in entries)
    inits = {s["name"]: s for s in pod["status"]["initContainerStatuses"]}
    assert inits["first"]["state"]["terminated"]["exitCode"] == 0
    assert inits["second"]["state"]["terminated"]["exitCode"] == 0
    assert "running" in inits["sidecar"]["state"]
    assert pod["status"]["phase"] == "Running"


async def _lines(path: Path, n: int) -> list[list[str]] | None:
    lines = [line.split() for line in (await asyncio.to_thread(path.read_text)).splitlines()]
    return lines if len(lines) >= n else None


async def test_other_images_wait_and_bad_commands_crash_loop_with_the_error_logged(ns, podlets) -> None:  # type: ignore[no-untyped-def]
    kube, name = ns
    cluster = podlets_clusters(podlets)[0]
    await kube.create(f"/api/v1/namespaces/{name}/pods", {"metadata": {"name": "nginx"}, "spec": {
        "containers": [{"name": "nginx", "image": "docker.io/library/nginx:1.27"}]}})
    await kube.create(f"/api/v1/namespaces/{name}/pods", {"metadata": {"name": "bad"}, "spec": {
        "containers": [{"name": "bad", "image": IMAGE, "args": ["no-such-subcommand"]}]}})

    async def waiting(pod: str, reason: str) -> dict[str, Any] | None:
        p = await kube.get(f"/api/v1/namespaces/{name}/pods/{pod}")
        for s in p.get("status", {}).get("containerStatuses") or []:
            if s["state"].get("waiting", {}).get("reason") == reason:
                return p
        return None

    nginx = await _wait_for("ImageNotRunnable", lambda: waiting("nginx", "ImageNotRunnable"))
    assert nginx["status"]["phase"] == "Pending"
    assert "nginx" in nginx["status"]["containerStatuses"][0]["state"]["waiting"]["message"]
    bad = await _wait_for("CrashLoopBackOff", lambda: waiting("bad", "CrashLoopBackOff"))
    assert bad["status"]["containerStatuses"][0]["lastState"]["terminated"]["exitCode"] != 0
    from fleet.local.podlet.cli import find_log

    text = find_log(podlets.cluster_dir(cluster), name, "bad", None).read_text()
    assert "no-such-subcommand" in text


async def test_deleting_the_deployment_stops_its_processes_and_removes_its_namespaces(ns, podlets) -> None:  # type: ignore[no-untyped-def]
    kube, name = ns
    cluster = podlets_clusters(podlets)[0]
    await _deploy_web(kube, name, replicas=2)
    pods = await _pods(kube, name, "app=web")
    pids = [p for pod in pods for p in _pids_of(podlets, cluster, pod["metadata"]["uid"])]
    netns = {f"mfpod-{pod['metadata']['uid'].replace('-', '')[:16]}" for pod in pods}
    assert pids
    assert all(_alive(*p) for p in pids)
    assert netns <= _netns()
    await kube.delete(f"/apis/apps/v1/namespaces/{name}/deployments/web", {"propagationPolicy": "Foreground"})

    async def gone() -> bool:
        return not await _pods(kube, name, "app=web")
    await _wait_for("the pods to be gone", gone, 90)
    assert not [p for p in pids if _alive(*p)]
    assert not netns & _netns()


async def test_killing_and_restarting_the_podlet_leaves_no_orphan(ns, podlets) -> None:  # type: ignore[no-untyped-def]
    kube, name = ns
    cluster = podlets_clusters(podlets)[0]
    await _deploy_web(kube, name, replicas=2)
    pods = await _pods(kube, name, "app=web")
    old = [p for pod in pods for p in _pids_of(podlets, cluster, pod["metadata"]["uid"])]
    podlets.stop(cluster, signal.SIGKILL)
    assert all(_alive(*p) for p in old)  # a crashed podlet leaves its pods' processes behind ...
    podlets.start(cluster)

    async def old_gone() -> bool:
        return not [p for p in old if _alive(*p)]

    # ... and the next one removes them before it starts the pods again.
    await _wait_for("the crashed podlet's processes to be removed", old_gone, 60)

    async def running_again() -> bool:
        fresh = [p for pod in pods for p in _live_pids(podlets, cluster, pod["metadata"]["uid"]) if p not in old]
        return len(fresh) == 2 and await _count_ready(kube, name, 2)
    await _wait_for("the pods to run again with new processes", running_again, 90)
    live = {f"mfpod-{pod['metadata']['uid'].replace('-', '')[:16]}" for pod in await _pods(kube, name, "app=web")}
    assert live <= _netns()
    node = podlets.node_dir(cluster)
    recorded = {json.loads((d / "record.json").read_text())["netns"] for d in (node / "pods").iterdir()}
    ours = {n for n in _netns() if n in recorded}
    assert ours == recorded  # every namespace the podlet has is one of a live pod, and none is missing
    assert _bridge_up(node)


def _bridge_up(node: Path) -> bool:
    from fleet.local.podlet.naming import NodeNetwork

    bridge = NodeNetwork(json.loads((node / "node.json").read_text())["podCIDR"]).bridge
    return bridge in subprocess.run(["ip", "-o", "link"], capture_output=True, text=True, check=True).stdout


async def test_pods_of_different_local_clusters_reach_each_other_through_the_host(ns, podlets) -> None:  # type: ignore[no-untyped-def]
    kube, name = ns
    other = podlets_clusters(podlets)[1]
    async with podlets.kube(other) as remote:
        await remote.create("/api/v1/namespaces", {"metadata": {"name": name}})
        try:
            await _wait_for("the default ServiceAccount there",
                            lambda: _exists(remote, f"/api/v1/namespaces/{name}/serviceaccounts/default"))
            await remote.create(f"/api/v1/namespaces/{name}/pods", {"metadata": {"name": "backend"}, "spec": {
                "containers": [_demo("backend")]}})
            backend = await _running_pod(remote, name, "backend")
            backend_ip = backend["status"]["podIP"]
            await kube.create(f"/api/v1/namespaces/{name}/pods", {"metadata": {"name": "front"}, "spec": {
                "containers": [_demo("front", "--downstream", f"http://{backend_ip}:8080/")]}})
            front = await _running_pod(kube, name, "front")
            assert front["status"]["podIP"].split(".")[1] != backend_ip.split(".")[1]  # two clusters' ranges
            status, body = await _http(f"http://{front['status']['podIP']}:8080/")
            assert status == 200, body
            assert body["downstream"][0]["host"] == "backend"
        finally:
            await remote.delete(f"/api/v1/namespaces/{name}")


async def test_a_stopped_podlet_marks_its_node_not_ready(podlets) -> None:  # type: ignore[no-untyped-def]
    cluster = podlets_clusters(podlets)[-1]
    node = default_node_name(cluster)
    podlets.stop(cluster)
    try:
        async with podlets.kube(cluster) as kube:
            obj = await kube.get(f"/api/v1/nodes/{node}")
            ready = next(c for c in obj["status"]["conditions"] if c["type"] == "Ready")
            assert (ready["status"], ready["reason"]) == ("False", "PodletStopped")
            lease = await kube.get(f"/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/{node}")
            assert lease["spec"]["holderIdentity"] == node
    finally:
        podlets.start(cluster)
        async with podlets.kube(cluster) as kube:
            await _wait_for("the node Ready again", lambda: _node_ready(kube, node), 90)


async def _container_status(kube: Kube, ns: str, pod: str) -> dict[str, Any]:
    obj = await kube.get(f"/api/v1/namespaces/{ns}/pods/{pod}")
    return dict((obj["status"].get("containerStatuses") or [{}])[0])


async def test_a_failing_liveness_probe_restarts_the_container_in_a_new_process(ns, podlets) -> None:  # type: ignore[no-untyped-def]
    kube, name = ns
    cluster = podlets_clusters(podlets)[0]
    live = {"httpGet": {"path": "/healthz", "port": "http"}, "periodSeconds": 1, "failureThreshold": 2}
    await kube.create(f"/api/v1/namespaces/{name}/pods", {"metadata": {"name": "alive"}, "spec": {
        "terminationGracePeriodSeconds": 2, "containers": [_demo("alive", livenessProbe=live)]}})
    pod = await _running_pod(kube, name, "alive")
    uid, ip = pod["metadata"]["uid"], pod["status"]["podIP"]
    assert pod["status"]["containerStatuses"][0]["restartCount"] == 0
    before = _live_pids(podlets, cluster, uid)
    assert before
    assert (await _http(f"http://{ip}:8080/healthz?healthy=false", "POST"))[0] == 503

    async def restarted_and_ready() -> dict[str, Any] | None:
        s = await _container_status(kube, name, "alive")
        return s if s.get("restartCount", 0) >= 1 and s.get("ready") else None
    status = await _wait_for("the container restarted and Ready again", restarted_and_ready, 60)
    assert "terminated" in status["lastState"]
    after = _live_pids(podlets, cluster, uid)
    assert after
    assert not set(after) & set(before)
    assert not [p for p in before if _alive(*p)]
    assert (await _http(f"http://{ip}:8080/healthz"))[0] == 200  # a new process: healthy again


async def test_an_exec_readiness_probe_follows_its_commands_exit_status(ns) -> None:  # type: ignore[no-untyped-def]
    kube, name = ns
    # The command runs inside the pod: 127.0.0.1 is the pod's own loopback, where the app listens.
    probe = {"exec": {"command": ["meshfleet", "demo-app", "--check", "http://127.0.0.1:8080/healthz"]},
             "periodSeconds": 1, "failureThreshold": 1}
    await kube.create(f"/api/v1/namespaces/{name}/pods", {"metadata": {"name": "gate"}, "spec": {
        "containers": [_demo("gate", readinessProbe=probe)]}})
    pod = await _running_pod(kube, name, "gate")
    ip = pod["status"]["podIP"]

    async def ready_is(value: bool) -> bool:
        return (await _container_status(kube, name, "gate")).get("ready") is value

    assert (await _http(f"http://{ip}:8080/healthz?healthy=false", "POST"))[0] == 503
    await _wait_for("Ready to turn False while the command exits 1", lambda: ready_is(False), 30)
    assert (await _http(f"http://{ip}:8080/healthz?healthy=true", "POST"))[0] == 200
    await _wait_for("Ready to turn True again once it exits 0", lambda: ready_is(True), 30)
    assert (await _container_status(kube, name, "gate"))["restartCount"] == 0
