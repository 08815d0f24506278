"""The control plane against a real kube-apiserver.

Destination watches real Services, EndpointSlices, Pods and policy objects and
streams them over mTLS on 127.0.0.1 to a real destination client; the real
API server calls the injector webhook on a 127.0.0.1 URL when pods are
created. No node agent is needed: pods are API objects here.
"""

from __future__ import annotations

import asyncio
import base64
import json
import ssl
import threading
import time
import urllib.request
import uuid
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException
from prometheus_client import CollectorRegistry

from mesh.control.destination import DestinationService, KubeReader, MeshSettings, ServiceConfig
from mesh.control.identity import load_kubeconfig
from mesh.control.injector import InjectorConfig, InjectorService
from mesh.control.injector import ServiceConfig as InjectorServiceConfig
from mesh.destination_client import Backoff, ClientConfig, DestinationClient
from mesh.manifests import MeshParams, crds
from mesh.policy import InboundPolicy, evaluate
from mesh.proxy.identity import IdentityMaterial, TlsContexts
from mesh.proxy.services import Resolution
from tests.unit.destination.objects import SUFFIX, MeshPKI, identity_of

pytestmark = pytest.mark.cluster

T = TypeVar("T")
DEST_NAME = identity_of("destination", "meshfleet")


class Loop:
    """An event loop in a thread: the services run there while the test drives the blocking API client."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 30.0) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def spawn(self, coro: Coroutine[Any, Any, None]) -> asyncio.Future[None]:
        return asyncio.run_coroutine_threadsafe(coro, self.loop)  # type: ignore[return-value]

    def close(self) -> None:
        async def drain() -> None:
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        self.run(drain())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(5)
        self.loop.close()


def wait_for(what: str, predicate: Callable[[], Any], timeout: float = 30.0, step: float = 0.02) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(step)


@pytest.fixture
def loop() -> Iterator[Loop]:
    lp = Loop()
    try:
        yield lp
    finally:
        lp.close()


@pytest.fixture
def cluster(local_fleet: Any) -> tuple[Path, client.ApiClient]:
    name = next(iter(local_fleet.clusters))
    return Path(local_fleet.clusters[name].kubeconfig), local_fleet.api_client(name)


def _namespace(api: client.ApiClient, labels: dict[str, str] | None = None) -> str:
    ns = f"cp-{uuid.uuid4().hex[:6]}"
    client.CoreV1Api(api).create_namespace({"metadata": {"name": ns, "labels": labels or {}}})
    return ns


def _meshed_pod(api: client.ApiClient, ns: str, name: str, sa: str, labels: dict[str, str] | None = None) -> Any:
    core = client.CoreV1Api(api)
    try:
        core.create_namespaced_service_account(ns, {"metadata": {"name": sa}})
    except ApiException as e:
        if e.status != 409:
            raise
    return core.create_namespaced_pod(
        ns,
        {
            "metadata": {"name": name, "labels": labels or {}},
            "spec": {
                "serviceAccountName": sa,
                "automountServiceAccountToken": False,
                "initContainers": [
                    {"name": "meshfleet-proxy", "image": "example.invalid/p:1", "restartPolicy": "Always"}
                ],
                "containers": [
                    {"name": "app", "image": "example.invalid/x:1", "ports": [{"name": "http", "containerPort": 8080}]}
                ],
            },
        },
    )


def _slice(name: str, service: str, endpoints: list[tuple[str, str]]) -> dict[str, Any]:
    return {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {"name": name, "labels": {"kubernetes.io/service-name": service}},
        "addressType": "IPv4",
        "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}],
        "endpoints": [
            {"addresses": [ip], "conditions": {"ready": True}, "targetRef": {"kind": "Pod", "name": pod}}
            for ip, pod in endpoints
        ],
    }


def _client_tls(pki: MeshPKI, sa: str, ns: str) -> ssl.SSLContext:
    d = pki.leaf(sa, ns)
    material = IdentityMaterial(
        identity_of(sa, ns), (d / "cert.pem").read_bytes(), d / "key.pem", pki.bundle.read_bytes()
    )
    return TlsContexts(material).client


def _destination(kubeconfig: Path, pki: MeshPKI, port: int = 0) -> DestinationService:
    config = ServiceConfig(
        settings=MeshSettings(identity_suffix=SUFFIX),
        identity_dir=pki.leaf("destination", "meshfleet"),
        trust_bundle=pki.bundle,
        listen=("127.0.0.1", port),
        heartbeat=1.0,
    )
    return DestinationService(config, KubeReader(load_kubeconfig(kubeconfig)), registry=CollectorRegistry())


def _install_policy_crds(api: client.ApiClient) -> None:
    ext = client.ApiextensionsV1Api(api)
    params = MeshParams(cluster_name="test", version="0.0.0", trust_bundle_pem=b"unused")
    for crd in crds(params):
        try:
            ext.create_custom_resource_definition(crd)
        except ApiException as e:
            if e.status != 409:
                raise
    for crd in crds(params):
        wait_for(
            f"CRD {crd['metadata']['name']} established",
            lambda c=crd: any(
                cond.type == "Established" and cond.status == "True"
                for cond in (ext.read_custom_resource_definition(c["metadata"]["name"]).status.conditions or [])
            ),
        )


def test_destination_streams_real_endpoint_changes_and_survives_a_restart(
    cluster: tuple[Path, client.ApiClient], loop: Loop, tmp_path: Path
) -> None:
    kubeconfig, api = cluster
    core, disc = client.CoreV1Api(api), client.DiscoveryV1Api(api)
    ns = _namespace(api)
    # No selector: the test owns the EndpointSlices, as a controller would.
    core.create_namespaced_service(
        ns, {"metadata": {"name": "api"}, "spec": {"ports": [{"name": "http", "port": 8080}]}}
    )
    for i in range(3):
        _meshed_pod(api, ns, f"api-{i}", "api")
    disc.create_namespaced_endpoint_slice(ns, _slice("api-1", "api", [("10.250.0.1", "api-0")]))

    pki = MeshPKI(tmp_path / "pki")
    service = _destination(kubeconfig, pki)
    loop.run(service.start())
    wait_for("destination synced", service.ready)
    dest = DestinationClient(
        ClientConfig(("127.0.0.1", service.port), DEST_NAME, backoff=Backoff(0.05, 0.5), silence_timeout=5.0),
        lambda: _client_tls(pki, "web", ns),
    )
    loop.spawn(dest.run())
    seen: list[Resolution | None] = []
    target = f"api.{ns}.svc.cluster.local:8080"
    loop.loop.call_soon_threadsafe(lambda: dest.resolve(target, seen.append))

    def addresses() -> list[str]:
        last = seen[-1] if seen else None
        return [e.address for e in last.endpoints] if last else []

    wait_for("the first snapshot", lambda: addresses() == ["10.250.0.1:8080"])
    assert seen[-1] is not None
    assert seen[-1].endpoints[0].identity == identity_of("api", ns)

    # An EndpointSlice change reaches the subscribed client within a second.
    started = time.monotonic()
    disc.patch_namespaced_endpoint_slice(
        "api-1", ns, {"endpoints": _slice("x", "api", [("10.250.0.1", "api-0"), ("10.250.0.2", "api-1")])["endpoints"]}
    )
    wait_for("the new endpoint", lambda: addresses() == ["10.250.0.1:8080", "10.250.0.2:8080"], timeout=5.0)
    assert time.monotonic() - started < 1.0

    # Destination goes away: the client keeps the last endpoints; changes made meanwhile arrive after a restart.
    port = service.port
    loop.run(service.stop())
    loop.run(service.kube.close())  # type: ignore[union-attr]
    disc.create_namespaced_endpoint_slice(ns, _slice("api-2", "api", [("10.250.0.3", "api-2")]))
    time.sleep(0.5)
    assert addresses() == ["10.250.0.1:8080", "10.250.0.2:8080"]
    restarted = _destination(kubeconfig, pki, port)
    loop.run(restarted.start())
    try:
        wait_for(
            "convergence after the restart",
            lambda: addresses() == ["10.250.0.1:8080", "10.250.0.2:8080", "10.250.0.3:8080"],
            timeout=15.0,
        )
        assert dest.connects == 2
    finally:
        loop.run(restarted.stop())
        loop.run(restarted.kube.close())  # type: ignore[union-attr]


def test_destination_serves_policy_from_real_crds(
    cluster: tuple[Path, client.ApiClient], loop: Loop, tmp_path: Path
) -> None:
    kubeconfig, api = cluster
    _install_policy_crds(api)
    custom = client.CustomObjectsApi(api)
    ns = _namespace(api)
    _meshed_pod(api, ns, "api-0", "api", {"app": "api"})

    # The API server itself refuses a malformed policy object, with a message naming the field.
    with pytest.raises(ApiException) as refused:
        custom.create_namespaced_custom_object(
            "policy.meshfleet.io",
            "v1alpha1",
            ns,
            "servers",
            {
                "apiVersion": "policy.meshfleet.io/v1alpha1",
                "kind": "Server",
                "metadata": {"name": "bad"},
                "spec": {"podSelector": {}, "port": 8080, "proxyProtocol": "carrier-pigeon"},
            },
        )
    assert refused.value.status == 422
    assert "proxyProtocol" in str(refused.value.body)

    pki = MeshPKI(tmp_path / "pki")
    service = _destination(kubeconfig, pki)
    loop.run(service.start())
    try:
        wait_for("destination synced", service.ready)
        dest = DestinationClient(
            ClientConfig(("127.0.0.1", service.port), DEST_NAME, pod=(ns, "api-0"), backoff=Backoff(0.05, 0.5)),
            lambda: _client_tls(pki, "api", ns),
        )
        loop.spawn(dest.run())
        policies: list[InboundPolicy] = []
        loop.loop.call_soon_threadsafe(lambda: dest.inbound_policy(policies.append))
        wait_for("the pod's inbound policy", lambda: policies)
        assert policies[-1].ports == ()
        for kind, plural, name, spec in [
            ("Server", "servers", "api-http", {"podSelector": {"matchLabels": {"app": "api"}}, "port": "http"}),
            ("MeshTLSAuthentication", "meshtlsauthentications", "web", {"identities": [identity_of("web", ns)]}),
            (
                "AuthorizationPolicy",
                "authorizationpolicies",
                "web-to-api",
                {
                    "targetRef": {"group": "policy.meshfleet.io", "kind": "Server", "name": "api-http"},
                    "requiredAuthenticationRefs": [
                        {"group": "policy.meshfleet.io", "kind": "MeshTLSAuthentication", "name": "web"}
                    ],
                },
            ),
        ]:
            custom.create_namespaced_custom_object(
                "policy.meshfleet.io",
                "v1alpha1",
                ns,
                plural,
                {"apiVersion": "policy.meshfleet.io/v1alpha1", "kind": kind, "metadata": {"name": name}, "spec": spec},
            )
        # The three objects arrive on separate watches, in any order; until the MeshTLSAuthentication
        # has arrived the policy names it but cannot resolve it, and denies.
        wait_for("the authorization to arrive resolved", lambda: policies[-1].ports and (
            evaluate(policies[-1], 8080, identity_of("web", ns), "10.0.0.1").allowed))
        assert evaluate(policies[-1], 8080, identity_of("web", ns), "10.0.0.1").allowed is True
        assert evaluate(policies[-1], 8080, identity_of("other", ns), "10.0.0.1").allowed is False
    finally:
        loop.run(service.stop())
        loop.run(service.kube.close())  # type: ignore[union-attr]


@pytest.fixture
def injector(cluster: tuple[Path, client.ApiClient], loop: Loop, tmp_path: Path) -> Iterator[tuple[int, bytes]]:
    from fleet.local.certs import ClusterPKI

    kubeconfig, _ = cluster
    pki = ClusterPKI(tmp_path / "webhook-pki")
    pki.ensure("webhook", "10.0.0.1")  # its "apiserver" pair is a serving cert for 127.0.0.1
    pair = pki.pair("apiserver")
    tls_dir = tmp_path / "tls"
    tls_dir.mkdir()
    (tls_dir / "tls.crt").write_bytes(pair.cert.read_bytes())
    (tls_dir / "tls.key").write_bytes(pair.key.read_bytes())
    (tls_dir / "tls.key").chmod(0o600)
    service = InjectorService(
        InjectorServiceConfig(InjectorConfig(image="ghcr.io/meshfleet/meshfleet:test"), tls_dir),
        KubeReader(load_kubeconfig(kubeconfig)),
        registry=CollectorRegistry(),
    )
    loop.run(service.start())
    try:
        yield service.port, pki.ca.cert.read_bytes()
    finally:
        loop.run(service.stop())
        loop.run(service.kube.close())  # type: ignore[union-attr]


def test_the_apiserver_calls_the_injector_and_the_pod_gets_the_sidecar(
    cluster: tuple[Path, client.ApiClient], injector: tuple[int, bytes]
) -> None:
    _, api = cluster
    port, ca = injector
    core = client.CoreV1Api(api)
    ns = _namespace(api, {"meshfleet.io/inject": "enabled"})
    wait_for("the default ServiceAccount", lambda: core.list_namespaced_service_account(ns).items)
    hook_name = f"inject-{ns}"
    client.AdmissionregistrationV1Api(api).create_mutating_webhook_configuration(
        {
            "apiVersion": "admissionregistration.k8s.io/v1",
            "kind": "MutatingWebhookConfiguration",
            "metadata": {"name": hook_name},
            "webhooks": [
                {
                    "name": "proxy-injector.meshfleet.io",
                    "admissionReviewVersions": ["v1"],
                    "sideEffects": "None",
                    "failurePolicy": "Fail",
                    "timeoutSeconds": 5,
                    "reinvocationPolicy": "Never",
                    "clientConfig": {
                        "url": f"https://127.0.0.1:{port}/inject",
                        "caBundle": base64.b64encode(ca).decode(),
                    },
                    "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": ns}},
                    "rules": [
                        {"operations": ["CREATE"], "apiGroups": [""], "apiVersions": ["v1"], "resources": ["pods"]}
                    ],
                }
            ],
        }
    )
    try:

        def create(name: str, annotations: dict[str, str] | None = None) -> Any:
            try:
                return core.create_namespaced_pod(
                    ns,
                    {
                        "metadata": {"name": name, "annotations": annotations or {}},
                        "spec": {"containers": [{"name": "app", "image": "example.invalid/x:1"}]},
                    },
                )
            except ApiException as e:  # the configuration takes a moment to reach the admission chain
                if e.status in (500, 403, 404):
                    return None
                raise

        def injected_pod() -> Any:
            p = create(f"p-{uuid.uuid4().hex[:5]}")
            if p is None:
                return None
            if any(c.name == "meshfleet-proxy" for c in p.spec.init_containers or []):
                return p
            core.delete_namespaced_pod(p.metadata.name, ns)
            return None

        pod = wait_for("a pod injected by the real API server", injected_pod, timeout=30, step=0.3)
        inits = {c.name: c for c in pod.spec.init_containers}
        assert list(inits) == ["meshfleet-init", "meshfleet-proxy"]
        assert inits["meshfleet-proxy"].restart_policy == "Always"
        env = {e.name: e.value for e in inits["meshfleet-proxy"].env}
        assert env["MESHFLEET_PROXY_IDENTITY_NAME"] == f"default.{ns}.{SUFFIX}"
        volumes = {v.name: v for v in pod.spec.volumes}
        assert volumes["meshfleet-identity"].empty_dir.medium == "Memory"
        assert volumes["meshfleet-token"].projected.sources[0].service_account_token.audience == "identity.meshfleet.io"
        assert pod.metadata.annotations["meshfleet.io/injected"] == "true"

        opted_out = create("opted-out", {"meshfleet.io/inject": "disabled"})
        assert opted_out is not None
        assert not opted_out.spec.init_containers
    finally:
        client.AdmissionregistrationV1Api(api).delete_mutating_webhook_configuration(hook_name)


def test_a_malformed_review_is_allowed_unchanged(injector: tuple[int, bytes]) -> None:
    port, ca = injector
    ctx = ssl.create_default_context(cadata=ca.decode())
    for body in (
        b"{garbage",
        json.dumps({"kind": "AdmissionReview", "request": {"uid": "u1", "kind": {"kind": "Secret"}}}).encode(),
    ):
        req = urllib.request.Request(
            f"https://127.0.0.1:{port}/inject", data=body, headers={"Content-Type": "application/json"}, method="POST"
        )
        with urllib.request.urlopen(req, context=ctx, timeout=5) as resp:  # noqa: S310 - a fixed loopback URL
            assert resp.status == 200
            answer = json.loads(resp.read())["response"]
        assert answer["allowed"] is True
        assert "patch" not in answer
        assert answer["warnings"]
