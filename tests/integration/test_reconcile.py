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
import textwrap
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
    # Each test uses its own mesh namespace; cluster-scoped objects are named after it too.
    return "mf-" + request.node.name.replace("_", "-")[5:30].strip("-").lower()


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

    # Edit: alpha gets 2 replicas and links to beta (a gateway and a Link appear).
    files = fleet_files(env)
    files["clusters/alpha.yaml"] = str(files["clusters/alpha.yaml"]) + "  links: [beta]\n  overrides:\n    replicas: 2\n"
    second = repo.commit(files, "alpha: two replicas, link to beta")
    assert run_reconcile(env) == 0
    alpha, beta = env["apis"]["alpha"], env["apis"]["beta"]
    dep = get(alpha, "Deployment", "identity", ns)
    assert dep is not None
    assert dep["spec"]["replicas"] == 2
    assert dep["metadata"]["annotations"]["fleet.meshfleet.io/revision"] == second
    assert get(alpha, "Deployment", "gateway", ns) is not None
    assert get(alpha, "Link", "beta", ns) is not None
    assert get(beta, "Deployment", "gateway", ns) is None

    # Remove the link again: the gateway and the Link objects are pruned from alpha.
    repo.commit(fleet_files(env), "alpha: no links")
    assert run_reconcile(env) == 0
    assert get(alpha, "Deployment", "gateway", ns) is None
    assert get(alpha, "Service", "gateway", ns) is None
    assert get(alpha, "Link", "beta", ns) is None
    assert get(alpha, "Deployment", "identity", ns) is not None
