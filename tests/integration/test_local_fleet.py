"""The local fleet's clusters behave as real Kubernetes: these talk to real API servers."""

from __future__ import annotations

import asyncio
import base64
import json
import ssl
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException

from fleet.local import process
from fleet.local.fleet import LocalFleet

pytestmark = pytest.mark.cluster


def _wait_for(what: str, predicate, timeout: float = 60.0):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.3)


def _apply(kubeconfig: str, objects: list[dict]) -> list[dict]:  # type: ignore[type-arg]
    """Server-side apply with the fleet manager's own client, as the reconciler does."""
    from fleet.kube.client import KubeClient
    from fleet.kube.kubeconfig import load_access

    async def run() -> list[dict]:  # type: ignore[type-arg]
        async with KubeClient(load_access(paths=[Path(kubeconfig)])) as kube:
            return [await kube.apply(o, "meshfleet-test") for o in objects]

    return asyncio.run(run())


def test_version_reports_the_pinned_release(local_fleet) -> None:  # type: ignore[no-untyped-def]
    for name in local_fleet.clusters:
        info = client.VersionApi(local_fleet.api_client(name)).get_code()
        assert info.git_version == "v1.36.3"
        assert (info.major, info.minor) == ("1", "36")


def test_server_side_apply_works_per_cluster_and_clusters_are_separate(local_fleet) -> None:  # type: ignore[no-untyped-def]
    a, b = list(local_fleet.clusters)[:2]
    ns = f"ssa-{uuid.uuid4().hex[:6]}"
    api_a = local_fleet.api_client(a)
    namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns, "labels": {"team": "mesh"}}}
    deploy = {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": ns},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}},
                              "spec": {"containers": [{"name": "web", "image": "example.invalid/web:1"}]}}},
    }
    out = _apply(local_fleet.clusters[a].kubeconfig, [namespace, deploy])
    assert out[0]["metadata"]["managedFields"][0]["manager"] == "meshfleet-test"
    assert out[1]["metadata"]["managedFields"][0]["operation"] == "Apply"
    assert client.AppsV1Api(api_a).read_namespaced_deployment("web", ns).spec.replicas == 1
    with pytest.raises(ApiException) as e:
        client.CoreV1Api(local_fleet.api_client(b)).read_namespace(ns)
    assert e.value.status == 404


def _make_node(core: client.CoreV1Api, name: str) -> None:
    core.create_node(client.V1Node(metadata=client.V1ObjectMeta(name=name, labels={"kubernetes.io/hostname": name})))
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    resources = {"cpu": "4", "memory": "8Gi", "pods": "110"}
    core.patch_node_status(name, {"status": {
        "capacity": resources, "allocatable": resources,
        "conditions": [{"type": "Ready", "status": "True", "reason": "TestNode", "message": "test node",
                        "lastHeartbeatTime": now, "lastTransitionTime": now}],
    }})


def test_controller_manager_and_scheduler_run_a_deployment_onto_a_node(local_fleet) -> None:  # type: ignore[no-untyped-def]
    name = list(local_fleet.clusters)[0]
    api = local_fleet.api_client(name)
    core, apps = client.CoreV1Api(api), client.AppsV1Api(api)
    node = f"node-{uuid.uuid4().hex[:6]}"
    ns = f"sched-{uuid.uuid4().hex[:6]}"
    _make_node(core, node)
    try:
        _schedule_onto(core, apps, node, ns)
    finally:
        # No agent runs behind this Node: left in place, the scheduler would keep binding later
        # tests' pods to it, where they never start.
        core.delete_node(node)
        core.delete_namespace(ns)


def _schedule_onto(core: client.CoreV1Api, apps: client.AppsV1Api, node: str, ns: str) -> None:
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=ns)))
    # The service-account controller creates "default" in every new namespace; pods need it to be admitted.
    _wait_for("the default ServiceAccount", lambda: core.list_namespaced_service_account(ns).items)
    apps.create_namespaced_deployment(ns, {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "api"},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "api"}},
                 "template": {"metadata": {"labels": {"app": "api"}},
                              "spec": {"tolerations": [{"operator": "Exists"}],
                                       "containers": [{"name": "api", "image": "example.invalid/api:1"}]}}},
    })
    rs = _wait_for("a ReplicaSet", lambda: apps.list_namespaced_replica_set(ns).items)
    assert rs[0].metadata.owner_references[0].name == "api"
    pods = _wait_for("2 pods bound to the node", lambda: [
        p for p in core.list_namespaced_pod(ns).items if p.spec.node_name == node] if len(
            [p for p in core.list_namespaced_pod(ns).items if p.spec.node_name == node]) == 2 else None)
    assert {p.metadata.owner_references[0].kind for p in pods} == {"ReplicaSet"}


def test_token_request_then_token_review_checks_the_audience(local_fleet) -> None:  # type: ignore[no-untyped-def]
    name = list(local_fleet.clusters)[0]
    api = local_fleet.api_client(name)
    core, authn = client.CoreV1Api(api), client.AuthenticationV1Api(api)
    ns = f"tok-{uuid.uuid4().hex[:6]}"
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=ns)))
    core.create_namespaced_service_account(ns, client.V1ServiceAccount(metadata=client.V1ObjectMeta(name="web")))
    tr = core.create_namespaced_service_account_token("web", ns, client.AuthenticationV1TokenRequest(
        spec=client.V1TokenRequestSpec(audiences=["identity.meshfleet.io"], expiration_seconds=600)))
    token = tr.status.token

    def review(audience: str) -> client.V1TokenReviewStatus:
        return authn.create_token_review(client.V1TokenReview(
            spec=client.V1TokenReviewSpec(token=token, audiences=[audience]))).status

    ok = review("identity.meshfleet.io")
    assert ok.authenticated is True
    assert ok.user.username == f"system:serviceaccount:{ns}:web"
    assert review("some-other-audience").authenticated is not True


class _LabelingWebhook(BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        review = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        patch = [{"op": "add", "path": "/metadata/labels/meshfleet.io~1webhook", "value": "called"}]
        body = json.dumps({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "response": {
            "uid": review["request"]["uid"], "allowed": True, "patchType": "JSONPatch",
            "patch": base64.b64encode(json.dumps(patch).encode()).decode()}}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


@pytest.fixture
def labeling_webhook(tmp_path: Path) -> Iterator[tuple[int, bytes]]:
    from fleet.local.certs import ClusterPKI

    pki = ClusterPKI(tmp_path / "pki")
    pki.ensure("webhook", "10.0.0.1")  # its "apiserver" pair is a serving cert for 127.0.0.1
    pair = pki.pair("apiserver")
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(pair.cert, pair.key)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _LabelingWebhook)
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    t = threading.Thread(target=server.serve_forever, daemon=True)
    t.start()
    try:
        yield server.server_address[1], pki.ca.cert.read_bytes()
    finally:
        server.shutdown()
        server.server_close()


def test_apiserver_calls_a_mutating_webhook_on_loopback(local_fleet, labeling_webhook) -> None:  # type: ignore[no-untyped-def]
    port, ca = labeling_webhook
    name = list(local_fleet.clusters)[-1]
    api = local_fleet.api_client(name)
    core = client.CoreV1Api(api)
    ns = f"hook-{uuid.uuid4().hex[:6]}"
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=ns, labels={"hook": ns})))
    _wait_for("the default ServiceAccount", lambda: core.list_namespaced_service_account(ns).items)
    client.AdmissionregistrationV1Api(api).create_mutating_webhook_configuration({
        "apiVersion": "admissionregistration.k8s.io/v1", "kind": "MutatingWebhookConfiguration",
        "metadata": {"name": f"label-{ns}"},
        "webhooks": [{
            "name": "label.test.meshfleet.io", "admissionReviewVersions": ["v1"], "sideEffects": "None",
            "failurePolicy": "Fail", "timeoutSeconds": 5,
            "clientConfig": {"url": f"https://127.0.0.1:{port}/mutate", "caBundle": base64.b64encode(ca).decode()},
            "namespaceSelector": {"matchLabels": {"hook": ns}},
            "rules": [{"operations": ["CREATE"], "apiGroups": [""], "apiVersions": ["v1"], "resources": ["pods"]}],
        }],
    })

    def create_pod() -> client.V1Pod | None:
        try:
            return core.create_namespaced_pod(ns, {
                "apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": f"p-{uuid.uuid4().hex[:5]}", "labels": {"app": "x"}},
                "spec": {"containers": [{"name": "c", "image": "example.invalid/x:1"}]}})
        except ApiException as e:  # the webhook configuration takes a moment to reach the admission chain
            if e.status in (500, 403, 404):
                return None
            raise

    pod = _wait_for("a pod mutated by the webhook", lambda: (
        p if (p := create_pod()) and (p.metadata.labels or {}).get("meshfleet.io/webhook") else None), timeout=30)
    assert pod.metadata.labels["meshfleet.io/webhook"] == "called"


def test_down_leaves_no_process_and_up_after_down_works(tmp_path: Path) -> None:
    fleet = LocalFleet(tmp_path / "state")
    rows = asyncio.run(fleet.up(("gamma",)))
    assert rows[0].ready
    pids = fleet.processes()
    assert {p.component for p in pids} == {"etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler"}
    t0 = time.monotonic()
    asyncio.run(fleet.down())
    assert time.monotonic() - t0 < 10
    assert not [p for p in pids if process.alive(p)]
    assert not (tmp_path / "state" / "fleet.json").exists()
    again = LocalFleet(tmp_path / "state")
    try:
        assert asyncio.run(again.up(("gamma",)))[0].ready
        # A second up on a healthy fleet reuses it: same processes.
        before = {p.pid for p in again.processes()}
        assert asyncio.run(LocalFleet(tmp_path / "state").up(("gamma",)))[0].ready
        assert {p.pid for p in LocalFleet(tmp_path / "state").processes()} == before
    finally:
        asyncio.run(LocalFleet(tmp_path / "state").down())
    assert not [p for p in again.processes() if process.alive(p)]
