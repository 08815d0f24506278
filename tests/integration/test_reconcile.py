"""The reconciler against real local clusters and real Git repositories in temp directories.

No pods run in these clusters (there is no node agent here), so Deployments
never become Available: the tests assert the honest states (Progressing),
and everything the API server itself decides (objects applied, updated,
pruned, drift put back, nothing touched on a refused revision).
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pygit2
import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from kubernetes import client as k8s
from kubernetes.client.rest import ApiException

from fleet.reconcile.cli import diff_main, reconcile_main, rollout_main, status_main
from fleet.reconcile.engine import FleetReconciler
from fleet.reconcile.model import ClusterState
from fleet.reconcile.rollout_state import RolloutStateFile
from fleet.source import GitSource

pytestmark = pytest.mark.cluster

FLEET = """\
apiVersion: meshfleet.io/v1alpha1
kind: Fleet
metadata:
  name: itest
spec:
  mesh:
    version: "0.1.0"
    namespace: {namespace}
  rollout:
    waveTimeout: {timeout}
    waves: {waves}
"""

CLUSTER = """\
apiVersion: meshfleet.io/v1alpha1
kind: Cluster
metadata:
  name: {name}
spec:
  kubeconfigContext: {context}
  network:
    podCIDR: 10.{index}.0.0/16
    serviceCIDR: 10.{index2}.0.0/16
{extra}"""


def _anchor(keystore: Path) -> bytes:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "meshfleet integration anchor")])
    now = datetime.now(UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(hours=1))
            .not_valid_after(now + timedelta(days=365))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                         crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
            .sign(key, hashes.SHA256()))
    keystore.mkdir(mode=0o700, exist_ok=True)
    fd = os.open(keystore / "anchor.key", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()))
    return cert.public_bytes(serialization.Encoding.PEM)


class FleetRepo:
    """A fleet repository on branch main, committed to with pygit2."""

    def __init__(self, root: Path, anchor: bytes) -> None:
        self.root = root
        self.repo = pygit2.init_repository(str(root), initial_head="main")
        self.anchor = anchor
        self.sig = pygit2.Signature("Platform Team", "platform@example.com")

    def commit(self, files: dict[str, str | None], message: str) -> str:
        for path, text in files.items():
            target = self.root / path
            if text is None:
                target.unlink()
            else:
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(text)
        index = self.repo.index
        index.add_all()
        for path, text in files.items():
            if text is None:
                index.remove(path)
        index.write()
        tree = index.write_tree()
        parents = [] if self.repo.head_is_unborn else [self.repo.head.target]
        oid = self.repo.create_commit("refs/heads/main", self.sig, self.sig, message, tree, parents)
        return str(oid)


@pytest.fixture
def namespace(request: pytest.FixtureRequest) -> str:
    # Each test uses its own mesh namespace; cluster-scoped roles are named after it too.
    return f"mf-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def env(tmp_path: Path, local_fleet: Any, namespace: str) -> Iterator[dict[str, Any]]:
    keystore = tmp_path / "keystore"
    anchor = _anchor(keystore)
    repo = FleetRepo(tmp_path / "repo", anchor)
    common = ["--repo", str(repo.root), "--kubeconfig", str(local_fleet.kubeconfig),
              "--cache", str(tmp_path / "cache")]
    apis = {name: local_fleet.api_client(name) for name in ("alpha", "beta")}
    yield {"repo": repo, "common": common, "keystore": keystore, "state": tmp_path / "state", "apis": apis,
           "kubeconfig": local_fleet.kubeconfig, "tmp": tmp_path, "namespace": namespace}
    for api in apis.values():
        _cleanup(api, namespace)
        api.close()


def _cleanup(api: Any, namespace: str) -> None:
    core, rbac = k8s.CoreV1Api(api), k8s.RbacAuthorizationV1Api(api)
    for call in (lambda: core.delete_namespace(namespace),
                 lambda: core.delete_namespaced_config_map("meshfleet-inventory", "kube-system"),
                 lambda: core.delete_namespaced_config_map("meshfleet-status", "kube-system")):
        try:
            call()
        except ApiException:
            pass
    for component in ("identity", "destination", "injector"):
        for delete in (rbac.delete_cluster_role, rbac.delete_cluster_role_binding):
            try:
                delete(f"{namespace}-{component}")
            except ApiException:
                pass
    try:
        k8s.AdmissionregistrationV1Api(api).delete_mutating_webhook_configuration("meshfleet-proxy-injector")
    except ApiException:
        pass


def fleet_files(env: dict[str, Any], *, waves: str = "[[alpha, beta]]", timeout: str = "10m",
                clusters: dict[str, str] | None = None) -> dict[str, str | None]:
    contexts = clusters or {"alpha": "meshfleet-alpha", "beta": "meshfleet-beta"}
    files: dict[str, str | None] = {
        "fleet.yaml": FLEET.format(namespace=env["namespace"], waves=waves, timeout=timeout),
        "trust-anchors/root.crt": env["repo"].anchor.decode(),
    }
    for index, (name, context) in enumerate(sorted(contexts.items())):
        files[f"clusters/{name}.yaml"] = CLUSTER.format(name=name, context=context, index=110 + index,
                                                        index2=210 + index, extra="")
    return files


def run_reconcile(env: dict[str, Any], *extra: str) -> int:
    return reconcile_main([*env["common"], "--no-wait", "--keystore", str(env["keystore"]),
                           "--state-dir", str(env["state"]), *extra])


def get(api: Any, kind: str, name: str, namespace: str | None = None) -> dict[str, Any] | None:
    """A live object as the user's own client sees it (camelCase dict), or None."""
    core, apps = k8s.CoreV1Api(api), k8s.AppsV1Api(api)
    reads = {
        "Deployment": lambda: apps.read_namespaced_deployment(name, namespace),
        "ConfigMap": lambda: core.read_namespaced_config_map(name, namespace),
        "Service": lambda: core.read_namespaced_service(name, namespace),
        "Secret": lambda: core.read_namespaced_secret(name, namespace),
        "Namespace": lambda: core.read_namespace(name),
        "CustomResourceDefinition": lambda: k8s.ApiextensionsV1Api(api).read_custom_resource_definition(name),
        "Link": lambda: k8s.CustomObjectsApi(api).get_namespaced_custom_object(
            "multicluster.meshfleet.io", "v1alpha1", namespace, "links", name),
        "MutatingWebhookConfiguration": lambda: k8s.AdmissionregistrationV1Api(
            api).read_mutating_webhook_configuration(name),
    }
    try:
        found = reads[kind]()
    except ApiException as e:
        if e.status == 404:
            return None
        raise
    data: dict[str, Any] = found if isinstance(found, dict) else api.sanitize_for_serialization(found)
    return data


def status_entry(api: Any) -> dict[str, Any]:
    cm = get(api, "ConfigMap", "meshfleet-status", "kube-system")
    assert cm is not None, "the cluster holds no meshfleet-status"
    entry: dict[str, Any] = json.loads(cm["data"]["status.json"])
    return entry


def test_commit_applies_then_edit_updates_then_removal_prunes(env: dict[str, Any]) -> None:
    repo, ns = env["repo"], env["namespace"]
    first = repo.commit(fleet_files(env), "two clusters")

    assert run_reconcile(env) == 0
    for api in env["apis"].values():
        dep = get(api, "Deployment", "identity", ns)
        assert dep is not None
        assert dep["metadata"]["annotations"]["fleet.meshfleet.io/revision"] == first
        assert get(api, "CustomResourceDefinition", "servers.policy.meshfleet.io") is not None
        issuer = get(api, "Secret", "identity-issuer", ns)
        assert issuer is not None
        assert set(issuer["data"]) == {"tls.crt", "tls.key", "ca.crt"}
        entry = status_entry(api)
        # No pods run in these clusters: applied, and honestly still Progressing.
        assert entry["state"] == "Progressing"
        assert entry["appliedRevision"] == first

    # Edit: alpha gets 2 replicas and links to beta (a Link in alpha, a gateway in beta to receive its calls).
    files = fleet_files(env)
    files["clusters/alpha.yaml"] = f"{files['clusters/alpha.yaml']}  links: [beta]\n  overrides:\n    replicas: 2\n"
    second = repo.commit(files, "alpha: two replicas, link to beta")
    assert run_reconcile(env) == 0
    alpha, beta = env["apis"]["alpha"], env["apis"]["beta"]
    dep = get(alpha, "Deployment", "identity", ns)
    assert dep is not None
    assert dep["spec"]["replicas"] == 2
    assert dep["metadata"]["annotations"]["fleet.meshfleet.io/revision"] == second
    assert get(alpha, "Link", "beta", ns) is not None
    assert get(beta, "Deployment", "gateway", ns) is not None
    assert get(alpha, "Deployment", "gateway", ns) is None

    # Remove the link again: the Link is pruned from alpha, the gateway and its Service from beta.
    repo.commit(fleet_files(env), "alpha: no links")
    assert run_reconcile(env) == 0
    assert get(beta, "Deployment", "gateway", ns) is None
    assert get(beta, "Service", "gateway", ns) is None
    assert get(alpha, "Link", "beta", ns) is None
    assert get(alpha, "Deployment", "identity", ns) is not None


def _engine(env: dict[str, Any], **kwargs: Any) -> tuple[FleetReconciler, GitSource]:
    engine = FleetReconciler(kubeconfig=[env["kubeconfig"], *kwargs.pop("extra_kubeconfig", [])],
                             keystore=env["keystore"], rollout_state=RolloutStateFile(env["state"]), **kwargs)
    return engine, GitSource(str(env["repo"].root), "main", cache=env["tmp"] / "cache")


async def _load_and_pass(engine: FleetReconciler, source: GitSource) -> None:
    snapshot = await source.sync_async()
    assert engine.load(snapshot.tree, snapshot.revision) == ()
    engine.schedule()
    await engine.settle()


def _edit_replicas(api: Any, namespace: str, replicas: int) -> None:
    """What a person does with kubectl: a merge patch under their own field manager."""
    k8s.AppsV1Api(api).patch_namespaced_deployment("destination", namespace, {"spec": {"replicas": replicas}},
                                                   field_manager="kubectl-edit")


def _events(api: Any, namespace: str, reason: str) -> list[Any]:
    items = k8s.CoreV1Api(api).list_namespaced_event(namespace).items
    return [e for e in items if e.reason == reason]


def test_manual_edit_is_detected_and_corrected(env: dict[str, Any]) -> None:
    ns = env["namespace"]
    env["repo"].commit(fleet_files(env), "two clusters")
    alpha = env["apis"]["alpha"]

    async def scenario() -> FleetReconciler:
        engine, source = _engine(env)
        try:
            await _load_and_pass(engine, source)
            assert engine.statuses["alpha"].state is ClusterState.PROGRESSING
            _edit_replicas(alpha, ns, 5)
            engine.schedule()
            await engine.settle()
        finally:
            await engine.close()
        return engine

    engine = asyncio.run(scenario())
    dep = get(alpha, "Deployment", "destination", ns)
    assert dep is not None
    assert dep["spec"]["replicas"] == 1, "the drifted field was not put back"
    reasons = [e.reason for e in engine.statuses["alpha"].events]
    assert "DriftCorrected" in reasons
    assert any("Deployment " + ns + "/destination" in e.message for e in engine.statuses["alpha"].events)
    assert _events(alpha, ns, "DriftCorrected")
    metrics = engine.metrics.exposition().decode()
    assert 'meshfleet_drift_detected_total{action="corrected",cluster="alpha"} 1.0' in metrics
    assert 'meshfleet_drift_detected_total{action="corrected",cluster="beta"}' not in metrics


def test_drift_report_mode_reports_and_leaves_the_edit(env: dict[str, Any]) -> None:
    ns = env["namespace"]
    files = fleet_files(env)
    files["clusters/alpha.yaml"] = str(files["clusters/alpha.yaml"]) + "  drift: report\n"
    env["repo"].commit(files, "alpha only reports drift")
    alpha = env["apis"]["alpha"]

    async def scenario() -> FleetReconciler:
        engine, source = _engine(env)
        try:
            await _load_and_pass(engine, source)
            _edit_replicas(alpha, ns, 4)
            engine.schedule()
            await engine.settle()
        finally:
            await engine.close()
        return engine

    engine = asyncio.run(scenario())
    dep = get(alpha, "Deployment", "destination", ns)
    assert dep is not None
    assert dep["spec"]["replicas"] == 4
    status = engine.statuses["alpha"]
    assert [d.describe() for d in status.drift] == [f"Deployment {ns}/destination: changed outside Git (spec.replicas)"]
    assert _events(alpha, ns, "DriftDetected")
    entry = status_entry(alpha)
    assert entry["drift"] == [f"Deployment {ns}/destination: changed outside Git (spec.replicas)"]
    assert 'meshfleet_drift_objects{cluster="alpha"} 1.0' in engine.metrics.exposition().decode()


def _resource_versions(env: dict[str, Any]) -> dict[str, str]:
    ns, out = env["namespace"], {}
    for cluster, api in env["apis"].items():
        for kind, name, namespace in (("Deployment", "identity", ns), ("ConfigMap", "proxy-config", ns),
                                      ("ConfigMap", "meshfleet-inventory", "kube-system"),
                                      ("CustomResourceDefinition", "servers.policy.meshfleet.io", None),
                                      ("Secret", "identity-issuer", ns)):
            obj = get(api, kind, name, namespace)
            assert obj is not None
            out[f"{cluster}/{kind}/{name}"] = obj["metadata"]["resourceVersion"]
    return out


def _settled_resource_versions(env: dict[str, Any]) -> dict[str, str]:
    """Resource versions once the clusters' own controllers have stopped writing status."""
    deadline = time.monotonic() + 20
    previous = _resource_versions(env)
    while time.monotonic() < deadline:
        time.sleep(1.0)
        current = _resource_versions(env)
        if current == previous:
            return current
        previous = current
    raise AssertionError("the objects kept changing without the reconciler")


def _bad_anchor(env: dict[str, Any]) -> dict[str, str | None]:
    return {"trust-anchors/root.crt": "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n"
                                      "-----END CERTIFICATE-----\n"}


INVALID_CASES = {
    "bad CIDR": (lambda env: {"clusters/alpha.yaml": CLUSTER.format(
        name="alpha", context="meshfleet-alpha", index=110, index2=210, extra="").replace(
        "10.110.0.0/16", "10.0.0.0/33")},
        "clusters/alpha.yaml:8:14: spec.network.podCIDR: '10.0.0.0/33' is not a valid CIDR"),
    "invalid YAML": (lambda env: {"clusters/beta.yaml": "apiVersion: meshfleet.io/v1alpha1\nkind: [Cluster\n"},
                     "clusters/beta.yaml:"),
    "link to a missing cluster": (lambda env: {"clusters/alpha.yaml": CLUSTER.format(
        name="alpha", context="meshfleet-alpha", index=110, index2=210, extra="  links: [gamma]\n")},
        "clusters/alpha.yaml:10:11: spec.links[0]: 'gamma' is not a cluster of this fleet (clusters: alpha, beta)"),
    "duplicate name": (lambda env: {"clusters/gamma.yaml": CLUSTER.format(
        name="beta", context="meshfleet-beta", index=112, index2=212, extra="")},
        "clusters/gamma.yaml:4:9: metadata.name: 'beta' is also the name of the cluster in clusters/beta.yaml:4:9"),
    "malformed anchor": (_bad_anchor, "trust-anchors/root.crt:1:1: malformed certificate"),
}


@pytest.mark.parametrize("case", sorted(INVALID_CASES))
def test_invalid_revision_is_refused_whole_and_nothing_changes(env: dict[str, Any], case: str,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    good = env["repo"].commit(fleet_files(env), "two clusters")
    assert run_reconcile(env) == 0
    before = _settled_resource_versions(env)
    capsys.readouterr()

    change, expected = INVALID_CASES[case]
    env["repo"].commit(change(env), f"break: {case}")
    assert run_reconcile(env) == 2
    err = capsys.readouterr().err
    assert expected in err, err
    assert "no cluster was changed" in err
    assert _resource_versions(env) == before
    for api in env["apis"].values():
        assert status_entry(api)["appliedRevision"] == good


def _dead_context(tmp: Path) -> Path:
    """A kubeconfig whose only context points at a loopback port nothing listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    path = tmp / "dead.kubeconfig"
    path.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config",
        "clusters": [{"name": "dead", "cluster": {"server": f"https://127.0.0.1:{port}",
                                                  "insecure-skip-tls-verify": True}}],
        "users": [{"name": "dead", "user": {"token": "not-a-real-token"}}],
        "contexts": [{"name": "meshfleet-dead", "context": {"cluster": "dead", "user": "dead"}}],
    }))
    return path


def test_unreachable_cluster_does_not_stop_the_others(env: dict[str, Any], capsys: pytest.CaptureFixture[str]
                                                      ) -> None:
    dead = _dead_context(env["tmp"])
    files = fleet_files(env, waves="[[alpha, beta, gamma]]",
                        clusters={"alpha": "meshfleet-alpha", "beta": "meshfleet-beta", "gamma": "meshfleet-dead"})
    revision = env["repo"].commit(files, "three clusters, one down")
    code = run_reconcile(env, "--kubeconfig", str(dead), "--output", "json")
    assert code == 1
    doc = json.loads(capsys.readouterr().out)
    by_name = {c["name"]: c for c in doc["clusters"]}
    assert by_name["gamma"]["state"] == "Unreachable"
    assert by_name["gamma"]["reachable"] is False
    assert "unreachable" in by_name["gamma"]["message"]
    for name in ("alpha", "beta"):
        assert by_name[name]["state"] == "Progressing"
        assert by_name[name]["appliedRevision"] == revision
        assert status_entry(env["apis"][name])["appliedRevision"] == revision


def test_later_wave_waits_for_the_first_and_a_timeout_halts_the_rollout(env: dict[str, Any],
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    ns = env["namespace"]
    env["repo"].commit(fleet_files(env, waves="[[alpha], [beta]]", timeout="3s"), "alpha first")
    code = reconcile_main([*env["common"], "--keystore", str(env["keystore"]), "--state-dir", str(env["state"]),
                           "--interval", "0.5"])
    assert code == 1
    err = capsys.readouterr().err
    assert "halted: wave 1/2 (alpha) not Ready within 0:00:03" in err
    assert get(env["apis"]["alpha"], "Deployment", "identity", ns) is not None
    # beta never received the revision: no namespace, no inventory.
    assert get(env["apis"]["beta"], "Namespace", ns) is None
    assert get(env["apis"]["beta"], "ConfigMap", "meshfleet-inventory", "kube-system") is None


def test_paused_rollout_starts_no_wave_until_resumed(env: dict[str, Any]) -> None:
    ns = env["namespace"]
    env["repo"].commit(fleet_files(env, waves="[[alpha], [beta]]"), "alpha first")
    assert rollout_main(["pause", "--state-dir", str(env["state"])]) == 0
    assert run_reconcile(env) == 0
    assert get(env["apis"]["alpha"], "Namespace", ns) is None
    assert rollout_main(["resume", "--state-dir", str(env["state"])]) == 0
    assert run_reconcile(env) == 0
    assert get(env["apis"]["alpha"], "Deployment", "identity", ns) is not None
    assert get(env["apis"]["beta"], "Namespace", ns) is None


def test_diff_and_status_show_what_git_and_the_clusters_say(env: dict[str, Any],
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    ns = env["namespace"]
    revision = env["repo"].commit(fleet_files(env), "two clusters")
    assert diff_main(env["common"]) == 1  # nothing applied yet: everything would be created
    assert "+++ git alpha/Deployment " + ns + "/identity" in capsys.readouterr().out
    assert run_reconcile(env) == 0
    capsys.readouterr()
    # Everything is applied but the webhook, which waits for an injector that cannot start here.
    assert diff_main(env["common"]) == 1
    headers = {line for line in capsys.readouterr().out.splitlines() if line.startswith("+++ ")}
    assert headers == {f"+++ git {c}/MutatingWebhookConfiguration meshfleet-proxy-injector" for c in ("alpha", "beta")}
    _edit_replicas(env["apis"]["beta"], ns, 3)
    assert diff_main(env["common"]) == 1
    out = capsys.readouterr().out
    assert f"--- live beta/Deployment {ns}/destination" in out
    assert "-  replicas: 3\n" in out
    assert "+  replicas: 1\n" in out
    assert status_main([*env["common"], "--output", "json"]) == 1  # Progressing is not converged
    doc = json.loads(capsys.readouterr().out)
    assert doc["revision"] == revision
    assert {c["name"]: c["state"] for c in doc["clusters"]} == {"alpha": "Progressing", "beta": "Progressing"}


def test_watch_applies_a_new_cluster_file_when_a_signed_webhook_arrives(env: dict[str, Any]) -> None:
    import aiohttp

    from fleet.reconcile.cli import parse_watch_args, watch
    from fleet.source import GITHUB_HEADER, WebhookSecret, sign

    ns = env["namespace"]
    files = fleet_files(env, waves="[[alpha]]", clusters={"alpha": "meshfleet-alpha"})
    env["repo"].commit(files, "alpha only")
    secret_file = env["tmp"] / "webhook-secret"
    secret_file.write_text("s3cret\n")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    status_file = env["tmp"] / "status.json"
    args = parse_watch_args([*env["common"], "--keystore", str(env["keystore"]), "--state-dir", str(env["state"]),
                             "--poll", "3600", "--resync", "0.5", "--listen", f"127.0.0.1:{port}",
                             "--webhook-secret-file", str(secret_file), "--status-file", str(status_file)])

    async def until(predicate: Any, limit: float = 30.0) -> None:
        deadline = time.monotonic() + limit
        while not await asyncio.to_thread(predicate):
            assert time.monotonic() < deadline, "timed out"
            await asyncio.sleep(0.3)

    async def scenario() -> tuple[int, int, dict[str, Any]]:
        stop = asyncio.Event()
        task = asyncio.create_task(watch(args, stop, signals=False))
        try:
            await until(lambda: get(env["apis"]["alpha"], "Deployment", "identity", ns) is not None)
            assert get(env["apis"]["beta"], "Namespace", ns) is None
            files["clusters/beta.yaml"] = CLUSTER.format(name="beta", context="meshfleet-beta", index=111,
                                                         index2=211, extra="")
            files["fleet.yaml"] = FLEET.format(namespace=ns, waves="[[alpha, beta]]", timeout="10m")
            revision = env["repo"].commit(files, "add beta")
            body = b'{"ref": "refs/heads/main"}'
            url = f"http://127.0.0.1:{port}/hooks/git"
            async with aiohttp.ClientSession() as session:
                async with session.post(url, data=body, headers={GITHUB_HEADER: "sha256=" + "0" * 64}) as bad:
                    refused = bad.status
                signature = sign(body, WebhookSecret(b"s3cret"))
                async with session.post(url, data=body, headers={GITHUB_HEADER: signature}) as good:
                    accepted = good.status
            await until(lambda: (get(env["apis"]["beta"], "Deployment", "identity", ns) or {}).get(
                "metadata", {}).get("annotations", {}).get("fleet.meshfleet.io/revision") == revision)
            await until(lambda: status_file.exists() and {c["name"]: c["appliedRevision"] for c in json.loads(
                status_file.read_text())["clusters"]} == {"alpha": revision, "beta": revision})
            async with aiohttp.ClientSession() as session:
                async with session.get(f"http://127.0.0.1:{port}/metrics") as resp:
                    metrics = await resp.text()
            assert 'meshfleet_commit_to_applied_seconds{cluster="beta"}' in metrics
            return refused, accepted, json.loads(status_file.read_text())
        finally:
            stop.set()
            await task

    refused, accepted, doc = asyncio.run(scenario())
    assert refused == 401
    assert accepted == 202
    assert {c["name"]: c["state"] for c in doc["clusters"]} == {"alpha": "Progressing", "beta": "Progressing"}


def test_a_cluster_whose_api_server_dies_is_unreachable_then_converges_when_it_is_back(
        env: dict[str, Any], local_fleet: Any, capsys: pytest.CaptureFixture[str]) -> None:
    import signal

    from fleet.local import process
    from fleet.local.fleet import LocalFleet

    fleet = LocalFleet(local_fleet.state_dir)
    beta = fleet.state.clusters["beta"]
    apiserver = next(p for p in beta.processes if p.component == "kube-apiserver")
    revision = env["repo"].commit(fleet_files(env), "two clusters")
    os.kill(apiserver.pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while process.alive(apiserver) and time.monotonic() < deadline:
        time.sleep(0.1)
    try:
        assert run_reconcile(env, "--output", "json") == 1
        by_name = {c["name"]: c for c in json.loads(capsys.readouterr().out)["clusters"]}
        assert by_name["beta"]["state"] == "Unreachable"
        assert by_name["alpha"]["appliedRevision"] == revision
        assert status_entry(env["apis"]["alpha"])["appliedRevision"] == revision
    finally:
        # The API server comes back (same etcd, same state); `up` restarts what is not healthy.
        rows = asyncio.run(LocalFleet(local_fleet.state_dir).up(("alpha", "beta")))
        assert all(r.ready for r in rows)
    assert run_reconcile(env, "--output", "json") == 0
    by_name = {c["name"]: c for c in json.loads(capsys.readouterr().out)["clusters"]}
    assert by_name["beta"]["appliedRevision"] == revision
    assert by_name["beta"]["state"] != "Unreachable"
    again = local_fleet.api_client("beta")  # the kubeconfig names the API server wherever it came back
    try:
        assert status_entry(again)["appliedRevision"] == revision
    finally:
        again.close()
